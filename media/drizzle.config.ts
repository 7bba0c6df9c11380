import { defineConfig } from "drizzle-kit";

// Generates media's SQL migrations offline: `npx drizzle-kit generate --config media/drizzle.config.ts`.
// They run with their own bookkeeping table (MEDIA_MIGRATIONS_TABLE), beside commerce's.
export default defineConfig({
  dialect: "postgresql",
  schema: "./media/src/schema.ts",
  out: "./media/drizzle",
});
