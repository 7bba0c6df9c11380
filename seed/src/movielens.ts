import { createReadStream } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { type CollectedEvent, uuidV7At } from "@marquee/contracts";
import { CsvError, parseCsv } from "./csv.ts";
import type { Genre } from "./genres.ts";
import { isoTime } from "./iso-time.ts";
import { makeOffers } from "./offers.ts";
import { posterSvg } from "./poster.ts";
import { createRng, type Rng } from "./rng.ts";
import { type SeedTitle, typicalAgeRating, typicalRuntime } from "./titles.ts";

/**
 * MovieLens files (GroupLens), so a store can start from real ratings:
 * - "ml-100k": `u.data` (user \t item \t rating \t unix_ts) and `u.item`
 *   (id|title (year)|release date|video release date|IMDb URL|19 genre flags), latin1;
 * - "ml-1m" (also ml-10m): `ratings.dat` (user::movie::rating::ts) and `movies.dat`
 *   (id::Title (Year)::Genre|Genre), latin1;
 * - "csv" (ml-20m, ml-25m, ml-32m, ml-latest): `ratings.csv` (userId,movieId,rating,timestamp)
 *   and `movies.csv` (movieId,title,genres), UTF-8, RFC 4180 quoting.
 */
export type MovieLensFormat = "ml-100k" | "ml-1m" | "csv";

export const MOVIELENS_FILES: Readonly<Record<MovieLensFormat, { ratings: string; movies: string }>> = {
  "ml-100k": { ratings: "u.data", movies: "u.item" },
  "ml-1m": { ratings: "ratings.dat", movies: "movies.dat" },
  csv: { ratings: "ratings.csv", movies: "movies.csv" },
};

/** ml-100k's 19 genre flags, in file order. */
export const ML100K_GENRES = [
  "unknown",
  "Action",
  "Adventure",
  "Animation",
  "Children's",
  "Comedy",
  "Crime",
  "Documentary",
  "Drama",
  "Fantasy",
  "Film-Noir",
  "Horror",
  "Musical",
  "Mystery",
  "Romance",
  "Sci-Fi",
  "Thriller",
  "War",
  "Western",
] as const;

/**
 * MovieLens genres in the store's vocabulary, so imported and generated titles share genre
 * rows and features. null: dropped (no store genre says it).
 */
export const MOVIELENS_GENRE_MAP: Readonly<Record<string, Genre | null>> = {
  Action: "Action",
  Adventure: "Adventure",
  Animation: "Animation",
  "Children's": "Family",
  Children: "Family",
  Comedy: "Comedy",
  Crime: "Crime",
  Documentary: "Documentary",
  Drama: "Drama",
  Fantasy: "Fantasy",
  "Film-Noir": "Crime",
  Horror: "Horror",
  Musical: "Music",
  Mystery: "Mystery",
  Romance: "Romance",
  "Sci-Fi": "Sci-Fi",
  Thriller: "Thriller",
  War: "War",
  Western: "Western",
  IMAX: null,
  unknown: null,
  "(no genres listed)": null,
};

/** Bad input: the message reads `file:line: reason`, with a 1-based line. */
export class MovieLensError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = "MovieLensError";
  }
}

export interface MovieLensMovie {
  movieId: number;
  /** Without the year suffix, with a trailing article moved to the front ("Usual Suspects, The" → "The Usual Suspects"). */
  title: string;
  year: number | undefined;
  genres: Genre[];
  line: number;
}

export interface MovieLensRating {
  userId: number;
  movieId: number;
  /** As in the file (not yet clamped). */
  rating: number;
  /** Unix seconds. */
  timestamp: number;
  line: number;
}

// --- parsing strings ---

const POSITIVE_INT = /^\d+$/;
const ARTICLES = "The|A|An|Les|Le|La|L'|Il|El|Das|Die|Der|Los|Las|Lo|Det|Den|De|Het|Un|Une";
const TRAILING_ARTICLE = new RegExp(`^(.*?), (${ARTICLES})( \\(.*\\))?$`);

/** "American President, The (1995)" → { title: "The American President", year: 1995 }. */
export function splitMovieLensTitle(raw: string): { title: string; year: number | undefined } {
  let title = raw.trim();
  let year: number | undefined;
  const m = /\s*\((\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$/.exec(title);
  if (m !== null) {
    const y = Number(m[1]);
    if (y >= 1870 && y <= 2100) {
      year = y;
      title = title.slice(0, m.index).trim();
    }
  }
  const a = TRAILING_ARTICLE.exec(title);
  if (a !== null) {
    const [, rest, article, alt] = a;
    title = `${article}${article?.endsWith("'") ? "" : " "}${rest}${alt ?? ""}`;
  }
  return { title, year };
}

function mapGenres(names: readonly string[]): Genre[] {
  const out: Genre[] = [];
  for (const name of names) {
    const g = MOVIELENS_GENRE_MAP[name.trim()];
    if (g !== undefined && g !== null && !out.includes(g)) out.push(g);
  }
  return out;
}

function movieId(value: string, file: string, line: number, what = "movie id"): number {
  const v = value.trim();
  if (!POSITIVE_INT.test(v)) throw new MovieLensError(file, line, `${what} '${v}' is not a non-negative integer`);
  return Number(v);
}

/**
 * The movies file of a format, as text already decoded (see `decodeMovies`). Duplicate ids
 * are an error: the ratings would be ambiguous.
 */
export function parseMovieLensMovies(
  text: string,
  format: MovieLensFormat,
  file = MOVIELENS_FILES[format].movies,
): MovieLensMovie[] {
  const movies: MovieLensMovie[] = [];
  const seen = new Set<number>();
  const add = (m: MovieLensMovie): void => {
    if (seen.has(m.movieId)) throw new MovieLensError(file, m.line, `movie ${m.movieId} is listed twice`);
    seen.add(m.movieId);
    movies.push(m);
  };

  if (format === "csv") {
    let header = true;
    try {
      for (const { fields, line } of parseCsv(text, file)) {
        if (header) {
          header = false;
          if (fields.join(",").trim() !== "movieId,title,genres") {
            throw new MovieLensError(file, line, "expected the header 'movieId,title,genres'");
          }
          continue;
        }
        if (fields.length !== 3)
          throw new MovieLensError(file, line, `expected 3 fields (movieId,title,genres), got ${fields.length}`);
        const [id, rawTitle, genres] = fields as [string, string, string];
        add({
          movieId: movieId(id, file, line),
          ...splitMovieLensTitle(rawTitle),
          genres: mapGenres(genres.split("|")),
          line,
        });
      }
    } catch (e) {
      if (e instanceof CsvError) throw new MovieLensError(e.file, e.line, e.reason);
      throw e;
    }
    if (header) throw new MovieLensError(file, 1, "expected the header 'movieId,title,genres'");
    return movies;
  }

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = i + 1;
    if (raw.trim() === "") continue;
    if (format === "ml-1m") {
      const fields = raw.split("::");
      if (fields.length !== 3)
        throw new MovieLensError(file, line, "expected 3 fields separated by '::' (id::Title (Year)::Genres)");
      const [id, rawTitle, genres] = fields as [string, string, string];
      add({
        movieId: movieId(id, file, line),
        ...splitMovieLensTitle(rawTitle),
        genres: mapGenres(genres.split("|")),
        line,
      });
    } else {
      const fields = raw.split("|");
      if (fields.length !== 5 + ML100K_GENRES.length) {
        throw new MovieLensError(
          file,
          line,
          `expected ${5 + ML100K_GENRES.length} fields separated by '|', got ${fields.length}`,
        );
      }
      const flags = fields.slice(5);
      const names: string[] = [];
      flags.forEach((f, k) => {
        if (f !== "0" && f !== "1")
          throw new MovieLensError(file, line, `genre flag ${k + 1} is '${f}', expected 0 or 1`);
        if (f === "1") names.push(ML100K_GENRES[k] as string);
      });
      const parsed = splitMovieLensTitle(fields[1] as string);
      // "01-Jan-1995": the release date stands in when the title has no year.
      const released = /(\d{4})\s*$/.exec(fields[2] as string);
      const year = parsed.year ?? (released === null ? undefined : Number(released[1]));
      add({
        movieId: movieId(fields[0] as string, file, line),
        title: parsed.title,
        year,
        genres: mapGenres(names),
        line,
      });
    }
  }
  return movies;
}

const RATING_SEPARATOR: Record<MovieLensFormat, { split: string | RegExp; name: string }> = {
  "ml-100k": { split: "\t", name: "tabs" },
  "ml-1m": { split: "::", name: "'::'" },
  csv: { split: ",", name: "','" },
};
const CSV_RATINGS_HEADER = "userId,movieId,rating,timestamp";
/** 9999-12-31T23:59:59Z. */
const MAX_UNIX_SECONDS = 253_402_300_799;

/**
 * One line of a ratings file; undefined for a blank line or the CSV header (line 1).
 * Throws MovieLensError naming the file and line.
 */
export function parseMovieLensRatingLine(
  text: string,
  line: number,
  format: MovieLensFormat,
  file = MOVIELENS_FILES[format].ratings,
): MovieLensRating | undefined {
  const raw = text.endsWith("\r") ? text.slice(0, -1) : text;
  if (format === "csv" && line === 1) {
    if (raw.replace(/^\ufeff/, "").trim() !== CSV_RATINGS_HEADER) {
      throw new MovieLensError(file, line, `expected the header '${CSV_RATINGS_HEADER}'`);
    }
    return undefined;
  }
  if (raw.trim() === "") return undefined;
  const sep = RATING_SEPARATOR[format];
  const fields = raw.split(sep.split);
  if (fields.length !== 4)
    throw new MovieLensError(file, line, `expected 4 fields separated by ${sep.name}, got ${fields.length}`);
  const [u, m, r, ts] = fields.map((f) => f.trim()) as [string, string, string, string];
  if (!POSITIVE_INT.test(u)) throw new MovieLensError(file, line, `user id '${u}' is not a non-negative integer`);
  if (!POSITIVE_INT.test(m)) throw new MovieLensError(file, line, `movie id '${m}' is not a non-negative integer`);
  const rating = r === "" ? Number.NaN : Number(r);
  if (!Number.isFinite(rating)) throw new MovieLensError(file, line, `rating '${r}' is not a number`);
  if (!POSITIVE_INT.test(ts) || Number(ts) > MAX_UNIX_SECONDS) {
    throw new MovieLensError(file, line, `timestamp '${ts}' is not Unix seconds`);
  }
  return { userId: Number(u), movieId: Number(m), rating, timestamp: Number(ts), line };
}

/** Every rating in a ratings file held as a string (tests, small files). */
export function* parseMovieLensRatings(
  text: string,
  format: MovieLensFormat,
  file = MOVIELENS_FILES[format].ratings,
): Generator<MovieLensRating> {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const r = parseMovieLensRatingLine(lines[i] as string, i + 1, format, file);
    if (r !== undefined) yield r;
  }
}

/** The rating clamped to 0.5..5 and rounded to the nearest half star. */
export function clampRating(rating: number): number {
  return Math.min(5, Math.max(0.5, Math.round(rating * 2) / 2));
}

// --- turning rows into the store's shapes ---

export interface MovieLensTitleOptions {
  /** Year for titles whose year cannot be parsed. Default 2000. */
  fallbackYear?: number;
  /** Prices depreciate with a title's age relative to this year. Default: this year. */
  nowYear?: number;
  seed?: number;
}

/** A store title for a MovieLens movie: real title, year and genres; the rest defaulted or generated. */
export function movieLensTitle(movie: MovieLensMovie, options: MovieLensTitleOptions = {}): SeedTitle {
  const year = movie.year ?? options.fallbackYear ?? 2000;
  const id = `ml${movie.movieId}`;
  const title = movie.title.trim() === "" ? `MovieLens ${movie.movieId}` : movie.title.slice(0, 300);
  const genres = movie.genres;
  const rng = createRng(options.seed ?? 0, "movielens-title", movie.movieId);
  const kinds = genres.length > 0 ? genres.join(" / ").toLowerCase() : "feature";
  return {
    id,
    title,
    year,
    genres,
    runtime_min: typicalRuntime(genres),
    age_rating: typicalAgeRating(genres),
    synopsis: `A ${year} ${kinds} film, imported from the MovieLens dataset.`,
    cast: [],
    director: "",
    offers: makeOffers(rng, { year, popularity: 0, nowYear: options.nowYear ?? new Date().getUTCFullYear() }),
    poster_svg: posterSvg({ id, title, year, genres }),
    popularity: 0,
  };
}

/** The `rating` event for one MovieLens rating: user `mlu<id>`, item `ml<id>`, at the rating's time. */
export function movieLensRatingEvent(r: MovieLensRating, rng: Rng): CollectedEvent {
  const ms = r.timestamp * 1000;
  return {
    event_id: uuidV7At(ms, rng),
    type: "rating",
    occurred_at: isoTime(ms),
    user_id: `mlu${r.userId}`,
    item_id: `ml${r.movieId}`,
    context: { device: "other" },
    payload: { value: clampRating(r.rating) },
    received_at: isoTime(ms + rng.int(20, 2000)),
  };
}

/**
 * Both files of a format held as strings: titles and every rating event, in file order.
 * The same checks as the file loader (unknown movies are an error when movies are given).
 */
export function parseMovieLens(
  input: { ratings: string; movies?: string },
  format: MovieLensFormat,
  options: MovieLensTitleOptions = {},
): { titles: SeedTitle[]; events: CollectedEvent[] } {
  const files = MOVIELENS_FILES[format];
  const ratings = [...parseMovieLensRatings(input.ratings, format, files.ratings)];
  const movies =
    input.movies === undefined
      ? synthesiseMovies(new Set(ratings.map((r) => r.movieId)))
      : parseMovieLensMovies(input.movies, format, files.movies);
  const known = new Set(movies.map((m) => m.movieId));
  const rng = createRng(options.seed ?? 0, "movielens-ratings");
  const events = ratings.map((r) => {
    if (!known.has(r.movieId))
      throw new MovieLensError(files.ratings, r.line, `movie ${r.movieId} is not in ${files.movies}`);
    return movieLensRatingEvent(r, rng);
  });
  return { titles: movies.map((m) => movieLensTitle(m, options)), events };
}

function synthesiseMovies(ids: ReadonlySet<number>): MovieLensMovie[] {
  return [...ids]
    .sort((a, b) => a - b)
    .map((id) => ({ movieId: id, title: `MovieLens ${id}`, year: undefined, genres: [], line: 0 }));
}

// --- files ---

export interface LoadMovieLensOptions extends MovieLensTitleOptions {
  ratingsPath: string;
  /** Without it, titles are synthesised from the movie ids in the ratings (one extra pass). */
  moviesPath?: string;
  format: MovieLensFormat;
}

export interface MovieLensData {
  format: MovieLensFormat;
  titles: SeedTitle[];
  /**
   * One rating event per line, in file order (MovieLens files are grouped by user, not sorted
   * by time). Streams the file line by line on each iteration, so ml-25m never sits in memory;
   * throws MovieLensError at the first bad line.
   */
  ratings: AsyncIterable<CollectedEvent>;
}

/**
 * The movies file's text. MovieLens' .dat and u.item files are latin1; some re-packaged
 * copies are UTF-8. Bytes that are valid UTF-8 are read as UTF-8 (latin1 text with accents
 * is almost never valid UTF-8), the rest as latin1. CSV files are UTF-8.
 */
export function decodeMovies(bytes: Uint8Array, format: MovieLensFormat): string {
  if (format === "csv") return new TextDecoder("utf-8").decode(bytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("latin1").decode(bytes);
  }
}

/** Load MovieLens files: titles now, ratings as a re-iterable stream of rating events. */
export async function loadMovieLens(options: LoadMovieLensOptions): Promise<MovieLensData> {
  const { ratingsPath, moviesPath, format } = options;
  const ratingsFile = basename(ratingsPath);
  let movies: MovieLensMovie[];
  if (moviesPath !== undefined) {
    movies = parseMovieLensMovies(decodeMovies(await readFile(moviesPath), format), format, basename(moviesPath));
  } else {
    const ids = new Set<number>();
    for await (const r of streamRatings(ratingsPath, format)) ids.add(r.movieId);
    movies = synthesiseMovies(ids);
  }
  const known = new Set(movies.map((m) => m.movieId));
  const moviesFile = moviesPath === undefined ? "the ratings" : basename(moviesPath);
  const seed = options.seed ?? 0;

  const ratings: AsyncIterable<CollectedEvent> = {
    async *[Symbol.asyncIterator]() {
      const rng = createRng(seed, "movielens-ratings");
      for await (const r of streamRatings(ratingsPath, format)) {
        if (!known.has(r.movieId))
          throw new MovieLensError(ratingsFile, r.line, `movie ${r.movieId} is not in ${moviesFile}`);
        yield movieLensRatingEvent(r, rng);
      }
    },
  };
  return { format, titles: movies.map((m) => movieLensTitle(m, options)), ratings };
}

/** The ratings file, parsed line by line from a stream. */
async function* streamRatings(path: string, format: MovieLensFormat): AsyncGenerator<MovieLensRating> {
  const file = basename(path);
  const input = createReadStream(path, { encoding: "latin1" });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      const r = parseMovieLensRatingLine(text, line, format, file);
      if (r !== undefined) yield r;
    }
    if (format === "csv" && line === 0)
      throw new MovieLensError(file, 1, `expected the header '${CSV_RATINGS_HEADER}'`);
  } finally {
    lines.close();
    input.destroy();
  }
}

/**
 * Load whichever MovieLens release a folder holds, by its files: `ratings.csv` (+ `movies.csv`),
 * `ratings.dat` (+ `movies.dat`) or `u.data` (+ `u.item`).
 */
export async function loadMovieLensDir(dir: string, options: MovieLensTitleOptions = {}): Promise<MovieLensData> {
  const order: MovieLensFormat[] = ["csv", "ml-1m", "ml-100k"];
  for (const format of order) {
    const files = MOVIELENS_FILES[format];
    const ratingsPath = join(dir, files.ratings);
    if (!(await exists(ratingsPath))) continue;
    const moviesPath = join(dir, files.movies);
    return loadMovieLens({
      ...options,
      format,
      ratingsPath,
      ...((await exists(moviesPath)) ? { moviesPath } : {}),
    });
  }
  throw new Error(
    `${dir}: no MovieLens files found (expected ratings.csv + movies.csv, ratings.dat + movies.dat, or u.data + u.item)`,
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
