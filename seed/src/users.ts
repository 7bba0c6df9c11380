import type { DeviceKind } from "@marquee/contracts";
import { GENRES, type Genre, PRIMARY_GENRE_WEIGHTS } from "./genres.ts";
import { createRng, type Rng } from "./rng.ts";
import { FEMALE_FIRST_NAMES, LAST_NAMES, MALE_FIRST_NAMES, NEUTRAL_FIRST_NAMES } from "./vocabulary.ts";

/** The devices a seeded viewer uses ("other" is left to real traffic). */
export const SEED_DEVICES = ["phone", "tablet", "desktop", "tv"] as const satisfies readonly DeviceKind[];
export type SeedDevice = (typeof SEED_DEVICES)[number];

/**
 * A seeded viewer and the latent tastes their history is drawn from. The tastes are the
 * ground truth a recommender should recover; they are not shown to the storefront.
 */
export interface SeedUser {
  id: string;
  name: string;
  /** Under example.com (RFC 2606), so no real inbox is ever addressed. */
  email: string;
  /** When the account was created; the history starts after it. */
  created_at: string;
  /** Affinity per genre, summing to 1 (to 4 decimals), concentrated on `favourite_genres`. */
  genre_affinity: Record<Genre, number>;
  /** The 1–3 genres holding most of the affinity (the strongest, then any ≥ 0.15), strongest first. */
  favourite_genres: Genre[];
  /** Relative activity (Pareto, ≥ 1): the expected sessions scale with it. */
  activity: number;
  /** Share of sessions per device, summing to 1 (to 4 decimals). */
  devices: Record<SeedDevice, number>;
  /** 0 (buys 4K without a thought) … 1 (rents in SD, and only what it really wants). */
  price_sensitivity: number;
}

export function userId(n: number): string {
  return `u${String(n).padStart(6, "0")}`;
}

export interface GenerateUsersOptions {
  count: number;
  seed: number;
  now: Date;
}

const DAY_MS = 86_400_000;

/** Users with Dirichlet genre tastes, power-law activity, a device mix and a price sensitivity. */
export function generateUsers(options: GenerateUsersOptions): SeedUser[] {
  const users: SeedUser[] = [];
  for (let i = 0; i < options.count; i++)
    users.push(generateUser(createRng(options.seed, "user", i), i + 1, options.now));
  return users;
}

function generateUser(rng: Rng, n: number, now: Date): SeedUser {
  // Tastes: 1–3 focal genres, picked roughly by how common the genres are, get most of the mass.
  const focalCount = rng.weightedIndex([45, 38, 17]) + 1;
  const focal: number[] = [];
  while (focal.length < focalCount) {
    const g = rng.weightedIndex(PRIMARY_GENRE_WEIGHTS.map((w, i) => (focal.includes(i) ? 0 : Math.sqrt(w))));
    focal.push(g);
  }
  const alphas = GENRES.map((_, i) => (focal.includes(i) ? rng.uniform(3, 6) : 0.08));
  const affinity = rng.dirichlet(alphas);
  const genre_affinity = Object.fromEntries(GENRES.map((g, i) => [g, round4(affinity[i] as number)])) as Record<
    Genre,
    number
  >;
  // What the affinity says, not what was planned: a stray genre can outweigh a focal one.
  const ranked = affinity.map((a, i) => [i, a] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const favourite_genres = ranked
    .filter(([, a], k) => k === 0 || (k < 3 && a >= 0.15))
    .map(([i]) => GENRES[i] as Genre);

  // Devices: one main device and a little of the others.
  const main = rng.weightedIndex([38, 9, 25, 28]);
  const mix = rng.dirichlet(SEED_DEVICES.map((_, i) => (i === main ? 6 : 0.6)));
  const devices = Object.fromEntries(SEED_DEVICES.map((d, i) => [d, round4(mix[i] as number)])) as Record<
    SeedDevice,
    number
  >;

  const first = rng.next();
  const given =
    first < 0.47
      ? rng.pick(FEMALE_FIRST_NAMES)
      : first < 0.94
        ? rng.pick(MALE_FIRST_NAMES)
        : rng.pick(NEUTRAL_FIRST_NAMES);
  const family = rng.pick(LAST_NAMES);
  const id = userId(n);
  // Accounts: a third joined during the 12-week window (cold starts), the rest up to 3 years ago.
  const ageDays = rng.chance(0.33) ? rng.uniform(1, 84) : rng.uniform(84, 3 * 365);

  return {
    id,
    name: `${given} ${family}`,
    email: `${given.toLowerCase().replace(/[^a-z]/g, "")}.${family.toLowerCase()}.${id}@example.com`,
    created_at: new Date(now.getTime() - Math.round(ageDays * DAY_MS)).toISOString(),
    genre_affinity,
    favourite_genres,
    activity: round4(Math.min(rng.pareto(1, 1.5), 40)),
    devices,
    price_sensitivity: round4(rng.beta(2, 2)),
  };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
