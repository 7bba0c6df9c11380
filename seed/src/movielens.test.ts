import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CollectedEvent, EventSchema, TitleSchema } from "@marquee/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "./csv.ts";
import {
  clampRating,
  loadMovieLens,
  loadMovieLensDir,
  type MovieLensData,
  MovieLensError,
  parseMovieLens,
  parseMovieLensMovies,
  parseMovieLensRatingLine,
  splitMovieLensTitle,
} from "./movielens.ts";

const flags = (...on: number[]) => Array.from({ length: 19 }, (_, i) => (on.includes(i) ? "1" : "0")).join("|");

const ML100K = {
  "u.data": ["1\t1\t5\t874965758", "1\t2\t3\t876893171", "2\t267\t4\t888550871", ""].join("\n"),
  // latin1 on disk: "é" is the single byte 0xE9.
  "u.item": [
    `1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|${flags(3, 4, 5)}`,
    `2|Misérables, Les (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Mis%E9rables%2C%20Les%20(1995)|${flags(8, 17)}`,
    `267|unknown||||${flags(0)}`,
  ].join("\n"),
};

const ML1M = {
  "ratings.dat": ["1::1193::5::978300760", "1::3::3::978302109", "6040::2::4::956703932"].join("\n"),
  "movies.dat": [
    "2::Jumanji (1995)::Adventure|Children's|Fantasy",
    "3::Déjà Vu (1997)::Drama|Film-Noir",
    "1193::One Flew Over the Cuckoo's Nest (1975)::Drama",
  ].join("\n"),
};

const CSV = {
  "ratings.csv": [
    "userId,movieId,rating,timestamp",
    "1,1,4.0,964982703",
    "1,3,4.5,964981247",
    "2,5,0.0,964983000",
    "2,11,5.5,964984000",
    "3,12,2.3,1500000000",
  ].join("\r\n"),
  "movies.csv": [
    "movieId,title,genres",
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy",
    '3,"American President, The (1995)",Comedy|Drama|Romance',
    '5,"Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb (1964)",Comedy|War',
    '11,"""Great Performances"" Cats (1998)",Musical',
    "12,Hyena Road,(no genres listed)",
    '13,"Amélie (Fabuleux destin d\'Amélie Poulain, Le) (2001)",Comedy|Romance|IMAX',
  ].join("\r\n"),
};

let root: string;

async function fixture(
  name: string,
  files: Record<string, string>,
  encoding: BufferEncoding = "utf8",
): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files))
    await writeFile(join(dir, file), Buffer.from(text, file.endsWith(".csv") ? "utf8" : encoding));
  return dir;
}

async function collect(data: MovieLensData): Promise<CollectedEvent[]> {
  const out: CollectedEvent[] = [];
  for await (const e of data.ratings) out.push(e);
  return out;
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a failure");
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "marquee-movielens-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function expectValid(titles: readonly unknown[], events: readonly CollectedEvent[]): void {
  for (const t of titles) expect(TitleSchema.safeParse(t).success).toBe(true);
  for (const e of events) {
    const r = EventSchema.safeParse(e);
    expect(r.success, r.error?.message).toBe(true);
  }
}

describe("MovieLens ml-100k", () => {
  it("loads u.data + u.item: latin1 titles, genre flags, years from the release date", async () => {
    const dir = await fixture("ml-100k", ML100K, "latin1");
    const data = await loadMovieLensDir(dir, { nowYear: 2026 });
    expect(data.format).toBe("ml-100k");
    expect(data.titles.map((t) => [t.id, t.title, t.year, t.genres])).toEqual([
      ["ml1", "Toy Story", 1995, ["Animation", "Family", "Comedy"]],
      ["ml2", "Les Misérables", 1995, ["Drama", "War"]],
      ["ml267", "unknown", 2000, []],
    ]);
    const events = await collect(data);
    expect(
      events.map((e) => [e.user_id, e.item_id, e.type === "rating" ? e.payload.value : null, e.occurred_at]),
    ).toEqual([
      ["mlu1", "ml1", 5, new Date(874965758_000).toISOString()],
      ["mlu1", "ml2", 3, new Date(876893171_000).toISOString()],
      ["mlu2", "ml267", 4, new Date(888550871_000).toISOString()],
    ]);
    expectValid(data.titles, events);
    // Re-iterable and deterministic.
    expect(await collect(data)).toEqual(events);
    const t = data.titles[0];
    expect(t?.poster_svg.startsWith("<svg")).toBe(true);
    expect(t?.offers.length).toBeGreaterThan(0);
    expect(t?.age_rating).toBe("PG");
  });

  it("names the file and line of a bad rating", async () => {
    const dir = await fixture(
      "ml-100k-bad",
      { "u.data": "1\t1\t5\t874965758\n1\t2\tx\t876893171\n", "u.item": ML100K["u.item"] },
      "latin1",
    );
    const data = await loadMovieLensDir(dir);
    expect(await failure(collect(data))).toBe("u.data:2: rating 'x' is not a number");
    expect(() => parseMovieLensRatingLine("1 1 5 874965758", 4, "ml-100k")).toThrow(
      "u.data:4: expected 4 fields separated by tabs, got 1",
    );
  });

  it("rejects a bad genre flag and a short line in u.item", () => {
    expect(() =>
      parseMovieLensMovies(`1|Toy Story (1995)|01-Jan-1995||url|${flags(3).replace(/^0/, "2")}`, "ml-100k"),
    ).toThrow("u.item:1: genre flag 1 is '2', expected 0 or 1");
    expect(() => parseMovieLensMovies("1|Toy Story (1995)|01-Jan-1995", "ml-100k")).toThrow(
      "u.item:1: expected 24 fields separated by '|', got 3",
    );
  });
});

describe("MovieLens ml-1m", () => {
  it("loads ratings.dat + movies.dat with latin1 accents and mapped genres", async () => {
    const dir = await fixture("ml-1m", ML1M, "latin1");
    const data = await loadMovieLensDir(dir);
    expect(data.format).toBe("ml-1m");
    expect(data.titles.find((t) => t.id === "ml3")).toMatchObject({
      title: "Déjà Vu",
      year: 1997,
      genres: ["Drama", "Crime"],
    });
    expect(data.titles.find((t) => t.id === "ml2")?.genres).toEqual(["Adventure", "Family", "Fantasy"]);
    const events = await collect(data);
    expect(events).toHaveLength(3);
    expect(events[2]).toMatchObject({ user_id: "mlu6040", item_id: "ml2", payload: { value: 4 } });
    expectValid(data.titles, events);
  });

  it("reads UTF-8 re-packaged .dat files too", async () => {
    const dir = await fixture("ml-1m-utf8", ML1M, "utf8");
    const data = await loadMovieLensDir(dir);
    expect(data.titles.find((t) => t.id === "ml3")?.title).toBe("Déjà Vu");
  });

  it("names the file and line of bad input", async () => {
    const dir = await fixture(
      "ml-1m-bad",
      { ...ML1M, "ratings.dat": "1::1193::5::978300760\n1::3::3::978302109\n1::2::4\n" },
      "latin1",
    );
    expect(await failure(collect(await loadMovieLensDir(dir)))).toBe(
      "ratings.dat:3: expected 4 fields separated by '::', got 3",
    );
    expect(() => parseMovieLensMovies("1::Toy Story (1995)\n", "ml-1m")).toThrow(
      "movies.dat:1: expected 3 fields separated by '::'",
    );
    expect(() => parseMovieLensMovies("1::A (1995)::Drama\n1::B (1996)::Drama", "ml-1m")).toThrow(
      "movies.dat:2: movie 1 is listed twice",
    );
  });

  it("rejects a rating whose movie is not in the movies file", async () => {
    const dir = await fixture(
      "ml-1m-unknown",
      { ...ML1M, "ratings.dat": "1::1193::5::978300760\n1::42::3::978302109\n" },
      "latin1",
    );
    expect(await failure(collect(await loadMovieLensDir(dir)))).toBe("ratings.dat:2: movie 42 is not in movies.dat");
  });

  it("synthesises titles from the ratings when there is no movies file", async () => {
    const dir = await fixture("ml-1m-no-movies", { "ratings.dat": ML1M["ratings.dat"] });
    const data = await loadMovieLensDir(dir);
    expect(data.titles.map((t) => t.id)).toEqual(["ml2", "ml3", "ml1193"]);
    expect(data.titles[0]).toMatchObject({ title: "MovieLens 2", genres: [] });
    const events = await collect(data);
    expect(events).toHaveLength(3);
    expectValid(data.titles, events);
  });
});

describe("MovieLens csv (ml-20m / ml-25m / ml-latest)", () => {
  it("loads RFC 4180 movies.csv: quoted commas and quotes, articles, no-genre titles, CRLF", async () => {
    const dir = await fixture("csv", CSV);
    const data = await loadMovieLensDir(dir);
    expect(data.format).toBe("csv");
    const byId = new Map(data.titles.map((t) => [t.id, t]));
    expect(byId.get("ml3")).toMatchObject({
      title: "The American President",
      year: 1995,
      genres: ["Comedy", "Drama", "Romance"],
    });
    expect(byId.get("ml5")?.title).toBe("Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb");
    expect(byId.get("ml11")).toMatchObject({ title: '"Great Performances" Cats', genres: ["Music"] });
    expect(byId.get("ml12")).toMatchObject({ title: "Hyena Road", year: 2000, genres: [] });
    expect(byId.get("ml13")).toMatchObject({
      title: "Amélie (Fabuleux destin d'Amélie Poulain, Le)",
      year: 2001,
      genres: ["Comedy", "Romance"],
    });
    const events = await collect(data);
    // Ratings clamp to 0.5..5 in half stars.
    expect(events.map((e) => (e.type === "rating" ? e.payload.value : null))).toEqual([4, 4.5, 0.5, 5, 2.5]);
    expectValid(data.titles, events);
    const poster = byId.get("ml11")?.poster_svg ?? "";
    expect(poster).toContain("&quot;Great Performances&quot; Cats");
  });

  it("names the file and line of bad input", async () => {
    const noHeader = await fixture("csv-no-header", { ...CSV, "ratings.csv": "1,1,4.0,964982703\n" });
    expect(await failure(collect(await loadMovieLensDir(noHeader)))).toBe(
      "ratings.csv:1: expected the header 'userId,movieId,rating,timestamp'",
    );
    const unknown = await fixture("csv-unknown", {
      ...CSV,
      "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,99,3.0,964982703\n",
    });
    expect(await failure(collect(await loadMovieLensDir(unknown)))).toBe(
      "ratings.csv:3: movie 99 is not in movies.csv",
    );
    const badTs = await fixture("csv-bad-ts", {
      ...CSV,
      "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,yesterday\n",
    });
    expect(await failure(collect(await loadMovieLensDir(badTs)))).toBe(
      "ratings.csv:2: timestamp 'yesterday' is not Unix seconds",
    );
    const quote = await fixture("csv-quote", {
      ...CSV,
      "movies.csv": 'movieId,title,genres\n1,Toy Story (1995),Comedy\n2,"Jumanji (1995),Fantasy\n',
    });
    expect(await failure(loadMovieLensDir(quote))).toBe("movies.csv:3: unterminated quoted field");
    expect(() => parseMovieLensMovies("movieId,title\n1,Toy Story (1995)", "csv")).toThrow(
      "movies.csv:1: expected the header 'movieId,title,genres'",
    );
    expect(() => parseMovieLensMovies("movieId,title,genres\n1,Toy Story (1995)", "csv")).toThrow(
      "movies.csv:2: expected 3 fields",
    );
  });

  it("stops reading when the consumer stops", async () => {
    const dir = await fixture("csv-early", CSV);
    const data = await loadMovieLensDir(dir);
    for await (const e of data.ratings) {
      expect(e.item_id).toBe("ml1");
      break;
    }
    expect((await collect(data)).length).toBe(5);
  });
});

describe("MovieLens helpers", () => {
  it("parses strings in every format", () => {
    const a = parseMovieLens({ ratings: ML100K["u.data"], movies: ML100K["u.item"] }, "ml-100k");
    const b = parseMovieLens({ ratings: ML1M["ratings.dat"], movies: ML1M["movies.dat"] }, "ml-1m");
    const c = parseMovieLens({ ratings: CSV["ratings.csv"], movies: CSV["movies.csv"] }, "csv", { seed: 3 });
    expect([a.events.length, b.events.length, c.events.length]).toEqual([3, 3, 5]);
    expectValid([...a.titles, ...b.titles, ...c.titles], [...a.events, ...b.events, ...c.events]);
    expect(() => parseMovieLens({ ratings: "1::9::4::978300760", movies: ML1M["movies.dat"] }, "ml-1m")).toThrow(
      MovieLensError,
    );
  });

  it("splits titles, years and trailing articles", () => {
    expect(splitMovieLensTitle("Usual Suspects, The (1995)")).toEqual({ title: "The Usual Suspects", year: 1995 });
    expect(splitMovieLensTitle("Arrivée, L' (1896)")).toEqual({ title: "L'Arrivée", year: 1896 });
    expect(splitMovieLensTitle("Babylon 5 (1994-1998)")).toEqual({ title: "Babylon 5", year: 1994 });
    expect(splitMovieLensTitle("Hyena Road")).toEqual({ title: "Hyena Road", year: undefined });
    expect(splitMovieLensTitle("Big Short, The (2015) ")).toEqual({ title: "The Big Short", year: 2015 });
  });

  it("clamps ratings into half stars", () => {
    expect([0, 0.2, 0.5, 2.26, 2.3, 4.74, 5, 7].map(clampRating)).toEqual([0.5, 0.5, 0.5, 2.5, 2.5, 4.5, 5, 5]);
  });

  it("says which files a folder should hold", async () => {
    const empty = await fixture("empty", {});
    expect(await failure(loadMovieLensDir(empty))).toMatch(/no MovieLens files found/);
  });

  it("loads explicit paths with an explicit format", async () => {
    const dir = await fixture("explicit", CSV);
    const data = await loadMovieLens({
      ratingsPath: join(dir, "ratings.csv"),
      moviesPath: join(dir, "movies.csv"),
      format: "csv",
    });
    expect(data.titles).toHaveLength(6);
  });
});

describe("parseCsv", () => {
  it("handles quotes, doubled quotes, embedded newlines, empty and trailing fields", () => {
    const rows = [...parseCsv('a,"b,c","say ""hi"""\r\n"multi\nline",,x,\n\nlast', "t.csv")];
    expect(rows).toEqual([
      { fields: ["a", "b,c", 'say "hi"'], line: 1 },
      { fields: ["multi\nline", "", "x", ""], line: 2 },
      { fields: ["last"], line: 5 },
    ]);
    expect(() => [...parseCsv('a,"b"c\n', "t.csv")]).toThrow("t.csv:1: unexpected 'c' after a closing quote");
    expect(() => [...parseCsv('a,b"c\n', "t.csv")]).toThrow("t.csv:1: a quote inside an unquoted field");
  });
});
