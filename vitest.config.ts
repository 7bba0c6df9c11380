import { defineConfig } from "vitest/config";

// One run over every workspace (`npm test` / `npx vitest run`). Integration suites decide
// for themselves whether their service URL is set (see runtime's `serviceSuite`).
export default defineConfig({
  test: {
    include: ["*/src/**/*.test.ts", "*/test/**/*.test.ts", "scripts/**/*.test.ts", "storefront/app/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/build/**", "**/dist/**", ".data/**", "**/.data/**"],
    testTimeout: 30_000,
    // Generous: integration suites start embedded databases and real servers in beforeAll.
    hookTimeout: 120_000,
    // chDB (native) and PGlite (wasm) are happiest with a process each, not worker threads.
    pool: "forks",
    reporters: ["default", "./scripts/vitest-summary-reporter.ts"],
  },
});
