import { defineConfig } from "drizzle-kit";

// Generates SQL migrations offline: `npx drizzle-kit generate --config commerce/drizzle.config.ts`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./commerce/src/schema.ts",
  out: "./commerce/drizzle",
});
