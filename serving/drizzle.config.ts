import { defineConfig } from "drizzle-kit";

// Generates serving's SQL migrations offline: `npx drizzle-kit generate --config serving/drizzle.config.ts`.
// They run with their own bookkeeping table (SERVING_MIGRATIONS_TABLE), beside commerce's and media's.
export default defineConfig({
  dialect: "postgresql",
  schema: "./serving/src/schema.ts",
  out: "./serving/drizzle",
});
