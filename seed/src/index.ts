/**
 * Seed data for Marquee: a deterministic synthetic store (catalogue, users with latent
 * tastes, their event histories) and a MovieLens loader. Pure generators: storing the
 * output in Postgres and ClickHouse is the caller's job.
 */
export { CsvError, type CsvRecord, parseCsv } from "./csv.ts";
export { GENRE_PROFILES, GENRES, type Genre, type GenreProfile, genreSlug, isGenre } from "./genres.ts";
export { isoTime } from "./iso-time.ts";
export {
  clampRating,
  decodeMovies,
  type LoadMovieLensOptions,
  loadMovieLens,
  loadMovieLensDir,
  ML100K_GENRES,
  MOVIELENS_FILES,
  MOVIELENS_GENRE_MAP,
  type MovieLensData,
  MovieLensError,
  type MovieLensFormat,
  type MovieLensMovie,
  type MovieLensRating,
  type MovieLensTitleOptions,
  movieLensRatingEvent,
  movieLensTitle,
  parseMovieLens,
  parseMovieLensMovies,
  parseMovieLensRatingLine,
  parseMovieLensRatings,
  splitMovieLensTitle,
} from "./movielens.ts";
export { makeOffers, type OfferInput } from "./offers.ts";
export { escapeXml, type PosterInput, posterSvg, wrapTitle } from "./poster.ts";
export { createRng, hashString, mixSeed, Rng, WeightedSampler } from "./rng.ts";
export {
  drawAgeRating,
  type GenerateTitlesOptions,
  generateTitles,
  type SeedTitle,
  titleId,
  typicalAgeRating,
  typicalRuntime,
} from "./titles.ts";
export {
  type GenerateUsersOptions,
  generateUsers,
  SEED_DEVICES,
  type SeedDevice,
  type SeedUser,
  userId,
} from "./users.ts";
export {
  DEFAULT_SEED,
  type EventStream,
  type GenerateWorldOptions,
  generateWorld,
  INTERACTION_TYPES,
  SCALES,
  type ScaleConfig,
  WINDOW_DAYS,
  type World,
  type WorldScale,
  type WorldStats,
} from "./world.ts";
