import { fileURLToPath } from "node:url";

/** The drizzle-kit migrations folder, for `PostgresHandle.migrate`. */
export const COMMERCE_MIGRATIONS = fileURLToPath(new URL("../drizzle", import.meta.url));
