import type { AgeRating, Title } from "@marquee/contracts";
import {
  AGE_RATING_ORDER,
  GENRE_INDEX,
  GENRE_PROFILES,
  GENRES,
  type Genre,
  isGenre,
  PRIMARY_GENRE_WEIGHTS,
} from "./genres.ts";
import { makeOffers } from "./offers.ts";
import { posterSvg } from "./poster.ts";
import { createRng, type Rng } from "./rng.ts";
import {
  AGENT_NOUNS,
  DOC_HOOKS,
  DOC_SUBJECTS,
  DOC_SUBTITLES,
  DOC_THEMES,
  FEMALE_FIRST_NAMES,
  GERUNDS,
  LAST_NAMES,
  MALE_FIRST_NAMES,
  NEUTRAL_FIRST_NAMES,
  NUMBER_WORDS,
  OCCUPATIONS,
  OF_NOUNS,
  PLACES,
  PLURAL_NOUNS,
  type Pronoun,
  REAL_TITLE_BLOCKLIST,
  SEASONS,
  TITLE_ADJECTIVES,
  TITLE_NOUNS,
  TITLE_PLACES,
} from "./vocabulary.ts";

/** A catalogue title as the seeder produces it: the contracts Title, its poster, and its latent popularity. */
export interface SeedTitle extends Title {
  poster_svg: string;
  /**
   * Latent appeal in (0, 1]: 1 for the most popular title, Zipf-distributed over ranks.
   * 0 where unknown (titles imported from MovieLens carry real ratings instead).
   */
  popularity: number;
}

export interface GenerateTitlesOptions {
  count: number;
  seed: number;
  now: Date;
  /** Zipf exponent of popularity over ranks (default 1.15; 1 is classic Zipf). */
  zipfExponent?: number;
}

/** `t00042`: five digits up to 99,999 titles, more digits beyond. */
export function titleId(n: number): string {
  return `t${String(n).padStart(5, "0")}`;
}

/**
 * A believable catalogue: invented titles, genres with realistic frequencies and
 * combinations, years skewed recent, runtimes and age ratings that follow the genre, a
 * synopsis that mentions the genres, an invented cast and director, prices, a poster and a
 * Zipf popularity that favours recent titles. Pure: the same options give the same titles.
 */
export function generateTitles(options: GenerateTitlesOptions): SeedTitle[] {
  const { count, seed, now } = options;
  const zipf = options.zipfExponent ?? 1.15;
  const nowYear = now.getUTCFullYear();
  const used = new Set<string>();
  const drafts: Omit<SeedTitle, "offers" | "poster_svg" | "popularity">[] = [];
  const appeal: number[] = [];

  for (let i = 0; i < count; i++) {
    const rng = createRng(seed, "title", i);
    const genres = drawGenres(rng);
    const primary = genres[0] as Genre;
    const year = drawYear(rng, nowYear);
    const cast = Array.from({ length: rng.int(3, 6) }, () => personName(rng));
    const uniqueCast = [...new Map(cast.map((c) => [c.name, c])).values()];
    const director = personName(rng).name;
    drafts.push({
      id: titleId(i + 1),
      title: uniqueTitleName(rng, genres, used),
      year,
      genres,
      runtime_min: drawRuntime(rng, primary),
      age_rating: drawAgeRating(rng, genres),
      synopsis: makeSynopsis(rng, genres, uniqueCast, director),
      cast: uniqueCast.map((c) => c.name),
      director,
    });
    // Latent appeal: noise plus a pull towards recent releases; ranks come from it below.
    appeal.push(rng.normal(0, 1) - Math.min(nowYear - year, 40) / 12);
  }

  const order = appeal.map((a, i) => [a, i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  const popularity = new Array<number>(count);
  order.forEach(([, i], rank) => {
    popularity[i] = 1 / (rank + 1) ** zipf;
  });

  return drafts.map((d, i) => {
    const pop = popularity[i] as number;
    const offers = makeOffers(createRng(seed, "offers", i), { year: d.year, popularity: pop, nowYear });
    return { ...d, offers, poster_svg: posterSvg(d), popularity: pop };
  });
}

// --- genres, years, runtimes, ratings ---

/** 1–3 genres: the first by catalogue frequency, the rest by what usually goes with it. */
export function drawGenres(rng: Rng): Genre[] {
  const n = rng.weightedIndex([35, 42, 23]) + 1;
  const genres: Genre[] = [GENRES[rng.weightedIndex(PRIMARY_GENRE_WEIGHTS)] as Genre];
  while (genres.length < n) {
    const weights = GENRES.map((g) => {
      if (genres.includes(g)) return 0;
      let w = 0;
      for (const have of genres) w += GENRE_PROFILES[have].companions[g] ?? 0;
      return w;
    });
    if (!weights.some((w) => w > 0)) break;
    genres.push(GENRES[rng.weightedIndex(weights)] as Genre);
  }
  return genres;
}

/** Years 1950..now, skewed recent: most of a store's catalogue is from the last two decades. */
function drawYear(rng: Rng, nowYear: number): number {
  if (rng.chance(0.12)) return rng.int(1950, nowYear);
  return Math.max(1950, nowYear - Math.floor(rng.exponential(9)));
}

function drawRuntime(rng: Rng, primary: Genre): number {
  const [mean, sd] = GENRE_PROFILES[primary].runtime;
  return Math.round(Math.min(210, Math.max(primary === "Animation" ? 68 : 75, rng.normal(mean, sd))));
}

/** The typical runtime of a title with these genres (no randomness; for imported titles). */
export function typicalRuntime(genres: readonly string[]): number {
  const primary = genres.find(isGenre);
  return primary === undefined ? 105 : GENRE_PROFILES[primary].runtime[0];
}

/** An age rating drawn for the primary genre, capped by family genres and floored by horror. */
export function drawAgeRating(rng: Rng, genres: readonly string[]): AgeRating {
  const known = genres.filter(isGenre);
  const primary = known[0];
  if (primary === undefined) return "PG-13";
  let idx = rng.weightedIndex(GENRE_PROFILES[primary].ratings);
  const family = known.includes("Family") || known.includes("Animation");
  if (family) idx = Math.min(idx, 1);
  else if (known.includes("Horror") || known.includes("Crime")) idx = Math.max(idx, 2);
  return AGE_RATING_ORDER[idx] as AgeRating;
}

/** The most common age rating for these genres (no randomness; for imported titles). */
export function typicalAgeRating(genres: readonly string[]): AgeRating {
  const known = genres.filter(isGenre);
  const primary = known[0];
  if (primary === undefined) return "PG-13";
  const weights = GENRE_PROFILES[primary].ratings;
  let idx = weights.indexOf(Math.max(...weights));
  if (known.includes("Family") || known.includes("Animation")) idx = Math.min(idx, 1);
  else if (known.includes("Horror") || known.includes("Crime")) idx = Math.max(idx, 2);
  return AGE_RATING_ORDER[idx] as AgeRating;
}

// --- people ---

interface Person {
  name: string;
  pronoun: Exclude<Pronoun, "they">;
}

/** An invented name; the pronoun keeps a synopsis consistent with its lead. */
export function personName(rng: Rng): Person {
  const r = rng.next();
  const last = rng.pick(LAST_NAMES);
  if (r < 0.47) return { name: `${rng.pick(FEMALE_FIRST_NAMES)} ${last}`, pronoun: "she" };
  if (r < 0.94) return { name: `${rng.pick(MALE_FIRST_NAMES)} ${last}`, pronoun: "he" };
  return { name: `${rng.pick(NEUTRAL_FIRST_NAMES)} ${last}`, pronoun: rng.chance(0.5) ? "she" : "he" };
}

// --- titles ---

function uniqueTitleName(rng: Rng, genres: readonly Genre[], used: Set<string>): string {
  for (let attempt = 0; attempt < 30; attempt++) {
    const name = titleName(rng, genres);
    const key = name.toLowerCase();
    if (!used.has(key) && !REAL_TITLE_BLOCKLIST.has(key)) {
      used.add(key);
      return name;
    }
  }
  // A crowded vocabulary (the large catalogue): number the follow-ups like a franchise would.
  const base = titleName(rng, genres);
  for (let n = 2; ; n++) {
    const name = `${base} ${romanNumeral(n)}`;
    const key = name.toLowerCase();
    if (!used.has(key)) {
      used.add(key);
      return name;
    }
  }
}

function romanNumeral(n: number): string {
  const table: [number, string][] = [
    [1000, "M"],
    [900, "CM"],
    [500, "D"],
    [400, "CD"],
    [100, "C"],
    [90, "XC"],
    [50, "L"],
    [40, "XL"],
    [10, "X"],
    [9, "IX"],
    [5, "V"],
    [4, "IV"],
    [1, "I"],
  ];
  let out = "";
  for (const [v, s] of table) {
    while (n >= v) {
      out += s;
      n -= v;
    }
  }
  return out;
}

/** One invented title from the patterns film titles tend to follow. */
export function titleName(rng: Rng, genres: readonly Genre[]): string {
  const primary = genres[0] ?? "Drama";
  const p = GENRE_PROFILES[primary];
  const noun = (): string => (rng.chance(0.7) ? rng.pick(p.titleNouns) : rng.pick(TITLE_NOUNS));
  const adj = (): string => (rng.chance(0.6) ? rng.pick(p.titleAdjectives) : rng.pick(TITLE_ADJECTIVES));

  if (primary === "Documentary") {
    switch (rng.int(0, 3)) {
      case 0:
        return `${rng.pick(p.titleNouns)}: ${rng.pick(DOC_SUBTITLES)}`;
      case 1:
        return `${rng.pick(p.titleAdjectives)} the ${rng.pick(TITLE_NOUNS)}`;
      case 2:
        return `The ${rng.pick(TITLE_NOUNS)} Years`;
      default:
        return rng.pick(DOC_SUBTITLES);
    }
  }

  const young = genres.includes("Family") || genres.includes("Animation");
  const weights = [18, 10, 12, 10, 8, young ? 14 : 5, 7, 8, 5];
  let name: string;
  switch (rng.weightedIndex(weights)) {
    case 0:
      name = `The ${adj()} ${noun()}`;
      break;
    case 1:
      name = `${adj()} ${noun()}`;
      break;
    case 2:
      name = `${noun()} of ${rng.pick(OF_NOUNS)}`;
      break;
    case 3:
      name = `The ${noun()} ${rng.pick(AGENT_NOUNS)}`;
      break;
    case 4: {
      const place = rng.pick(TITLE_PLACES);
      name = rng.pick([
        `Return to ${place}`,
        `Leaving ${place}`,
        `Last Train to ${place}`,
        `Summer in ${place}`,
        `${place} After Dark`,
        `The ${place} Affair`,
      ]);
      break;
    }
    case 5: {
      const first = rng.pick(rng.chance(0.5) ? FEMALE_FIRST_NAMES : MALE_FIRST_NAMES);
      name = rng.chance(0.5) ? `${first}'s ${noun()}` : `${first} and the ${adj()} ${noun()}`;
      break;
    }
    case 6:
      name = `${rng.pick(NUMBER_WORDS)} ${rng.pick(PLURAL_NOUNS)}`;
      break;
    case 7:
      name = `${rng.pick(GERUNDS)} ${rng.chance(0.5) ? rng.pick(OF_NOUNS) : `the ${noun()}`}`;
      break;
    default:
      name = `A ${noun()} in ${rng.pick(SEASONS)}`;
  }
  if (rng.chance(0.03)) name += rng.pick([" II", " 2", ": Part Two", ": The Reckoning"]);
  return name;
}

// --- synopses ---

const PRONOUNS = {
  she: { p: "she", pp: "her", po: "her" },
  he: { p: "he", pp: "his", po: "him" },
} as const;

const THEMES = [
  "trust and betrayal",
  "the families we choose",
  "second chances",
  "what we owe each other",
  "the cost of ambition",
  "courage, friendship and home",
  "grief and the people who carry us through it",
  "growing up and letting go",
  "loyalty under pressure",
];

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`;
}

function fill(template: string, pronoun: Person["pronoun"]): string {
  const forms = PRONOUNS[pronoun];
  return template.replace(/\{(pp|po|p)\}/g, (_, k: "p" | "pp" | "po") => forms[k]);
}

/** 1–3 sentences: the premise, a line that names the genres, and sometimes the cast. */
export function makeSynopsis(
  rng: Rng,
  genres: readonly Genre[],
  cast: readonly { name: string; pronoun: Person["pronoun"] }[],
  director: string,
): string {
  const primary = genres[0] ?? "Drama";
  const p = GENRE_PROFILES[primary];
  const sentences: string[] = [];

  if (primary === "Documentary") {
    if (rng.chance(0.85)) sentences.push(`This documentary follows ${rng.pick(DOC_SUBJECTS)} ${rng.pick(DOC_HOOKS)}.`);
    sentences.push(genreLine(rng, genres, DOC_THEMES));
  } else {
    const lead = cast[0];
    if (rng.chance(0.9)) {
      const young = primary === "Animation" || primary === "Family";
      const role = p.heroes !== undefined && (young || rng.chance(0.6)) ? rng.pick(p.heroes) : rng.pick(OCCUPATIONS);
      const place = p.places !== undefined && rng.chance(0.5) ? rng.pick(p.places) : rng.pick(PLACES);
      const named = lead !== undefined && rng.chance(0.5) && !role.startsWith("a ") && !role.startsWith("an ");
      const pronoun = named ? lead.pronoun : rng.chance(0.5) ? "she" : "he";
      const base = role.startsWith("a ") || role.startsWith("an ") ? role : article(role);
      const who = named ? `${characterName(rng, lead.pronoun)}, ${base} in ${place},` : `${base} in ${place}`;
      sentences.push(fill(`When ${who} ${rng.pick(p.hooks)}, {p} must ${rng.pick(p.goals)}.`, pronoun));
    }
    sentences.push(genreLine(rng, genres));
  }

  if (cast.length >= 2 && rng.chance(0.3)) {
    const names = cast.slice(0, 3).map((c) => c.name);
    sentences.push(`Starring ${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}.`);
  } else if (rng.chance(0.15)) {
    sentences.push(`From director ${director}.`);
  }
  return sentences.join(" ");
}

/** The sentence that says what kind of film it is, naming every genre. */
function genreLine(rng: Rng, genres: readonly Genre[], themes: readonly string[] = THEMES): string {
  const [g1, g2, g3] = genres.map((g) => GENRE_PROFILES[g]);
  if (g1 === undefined) return "A film.";
  const tone = rng.pick(g1.tones);
  if (g2 !== undefined && rng.chance(0.25)) {
    const tail =
      g3 === undefined
        ? rng.pick(["all heart", "all nerve", "and entirely its own thing"])
        : `with a ${g3.adjective} streak`;
    return `Part ${g1.noun}, part ${g2.noun}, ${tail}.`;
  }
  const kind = g2 === undefined ? g1.noun : `${g2.adjective} ${g1.noun}`;
  const edge = g3 === undefined ? "" : ` with ${article(g3.adjective)} edge`;
  return `${capitalise(article(tone))} ${kind}${edge} about ${rng.pick(themes)}.`;
}

/** A character's name, matching the lead actor's pronoun. */
function characterName(rng: Rng, pronoun: Person["pronoun"]): string {
  return `${rng.pick(pronoun === "she" ? FEMALE_FIRST_NAMES : MALE_FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Genre names mapped to indexes, for fast taste scoring. Unknown genres are dropped. */
export function genreIndexes(genres: readonly string[]): number[] {
  const out: number[] = [];
  for (const g of genres) {
    const i = GENRE_INDEX.get(g);
    if (i !== undefined) out.push(i);
  }
  return out;
}
