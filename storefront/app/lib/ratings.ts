/**
 * Contracts' AGE_RATINGS, for code that runs in the browser: importing `@marquee/contracts`
 * at runtime would ship zod to every page. ratings.test.ts keeps the two lists equal.
 */
export const AGE_RATINGS = ["G", "PG", "PG-13", "R", "NC-17"] as const;
export type AgeRating = (typeof AGE_RATINGS)[number];
