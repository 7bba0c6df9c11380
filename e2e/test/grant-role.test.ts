import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Accounts, COMMERCE_MIGRATIONS, schema, users } from "@marquee/commerce";
import { operatorSocketPath, serveOperatorCommands } from "@marquee/commerce/operator-socket";
import { createLogger, createPostgres } from "@marquee/runtime";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../../cli/src/main.ts", import.meta.url));
const run = promisify(execFile);

describe("marquee grant-role", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "marquee-grant-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: "silent", DATABASE_URL: "" };

  it("makes an existing account an admin, and says so when there is no such account", async () => {
    const pg = await createPostgres({ DATABASE_URL: undefined, dataDir }, schema);
    await pg.migrate(COMMERCE_MIGRATIONS);
    await new Accounts(pg.db).signUp({ email: "boss@example.com", password: "a long enough password" });
    await pg.close();

    const ok = await run(process.execPath, ["--import", "tsx", MAIN, "grant-role", "Boss@Example.com", "admin"], {
      env,
    });
    expect(ok.stdout).toContain("Boss@Example.com is now an admin");
    const missing = run(process.execPath, ["--import", "tsx", MAIN, "grant-role", "nobody@example.com", "admin"], {
      env,
    });
    await expect(missing).rejects.toMatchObject({ code: expect.any(Number) });
    const bad = run(process.execPath, ["--import", "tsx", MAIN, "grant-role", "boss@example.com", "emperor"], { env });
    await expect(bad).rejects.toMatchObject({ stderr: expect.stringContaining("usage: grant-role") });

    const again = await createPostgres({ DATABASE_URL: undefined, dataDir }, schema);
    const [u] = await again.db.select().from(users).where(eq(users.email, "boss@example.com"));
    await again.close();
    expect(u?.roles).toEqual(expect.arrayContaining(["viewer", "admin"]));
  });

  it("reaches a running store, whose open session has the role at its next request", async () => {
    // The running store: it holds the data folder's PGlite open, as `marquee start` does.
    const running = mkdtempSync(path.join(tmpdir(), "marquee-grant-live-"));
    const pg = await createPostgres({ DATABASE_URL: undefined, dataDir: running }, schema);
    try {
      await pg.migrate(COMMERCE_MIGRATIONS);
      const accounts = new Accounts(pg.db);
      const { token } = await accounts.signUp({ email: "live@example.com", password: "a long enough password" });
      const operator = await serveOperatorCommands(
        operatorSocketPath(running),
        accounts,
        createLogger({ service: "test", level: "silent" }),
      );
      try {
        const liveEnv = { ...env, DATA_DIR: running };
        const ok = await run(process.execPath, ["--import", "tsx", MAIN, "grant-role", "live@example.com", "admin"], {
          env: liveEnv,
        });
        expect(ok.stdout).toContain("live@example.com is now an admin");
        // No restart: the session that was open before the grant has the role now.
        expect((await accounts.authenticate(token))?.roles).toEqual(expect.arrayContaining(["viewer", "admin"]));
        const missing = run(process.execPath, ["--import", "tsx", MAIN, "grant-role", "nobody@example.com", "seller"], {
          env: liveEnv,
        });
        await expect(missing).rejects.toMatchObject({ stderr: expect.stringContaining("no account") });
      } finally {
        await operator.close();
      }
    } finally {
      await pg.close();
      rmSync(running, { recursive: true, force: true });
    }
  });
});
