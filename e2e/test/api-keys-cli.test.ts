import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { operatorSocketPath, serveOperatorCommands } from "@marquee/commerce/operator-socket";
import { createLogger, createPostgres, sql } from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import {
  ApiKeyCache,
  ApiKeys,
  apiKeyCommands,
  parseClientKey,
  SERVING_MIGRATIONS,
  SERVING_MIGRATIONS_TABLE,
  servingSchema,
} from "@marquee/serving";
import { afterAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../../cli/src/main.ts", import.meta.url));
const run = promisify(execFile);
const cli = (env: NodeJS.ProcessEnv, ...args: string[]) =>
  run(process.execPath, ["--import", "tsx", MAIN, "api-keys", ...args], { env });
const keyIn = (stdout: string) => /\bmq_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\b/.exec(stdout)?.[0] ?? "";

describe("marquee api-keys, embedded", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "marquee-keys-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: "silent", DATABASE_URL: "" };

  it("creates (printing the key once) and revokes on the data folder's PGlite when no store runs", async () => {
    const created = await cli(
      env,
      "create",
      "--name",
      "TV app",
      "--scopes",
      "catalog:read",
      "--rate-limit",
      "120/min",
      "--cors-origin",
      "https://tv.example",
    );
    const key = keyIn(created.stdout);
    const id = parseClientKey(key)?.keyId as string;
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    const refused = cli(env, "create", "--name", "x", "--scopes", "catalog:write");
    await expect(refused).rejects.toMatchObject({ stderr: expect.stringContaining("unknown scope catalog:write") });
    const revoked = await cli(env, "revoke", id);
    expect(revoked.stdout).toMatch(/^Revoked/);

    const pg = await createPostgres({ DATABASE_URL: undefined, dataDir }, servingSchema);
    try {
      const keys = await new ApiKeys(pg.db).list();
      expect(keys).toEqual([
        expect.objectContaining({ id, name: "TV app", rate_limit_per_minute: 120, revoked_at: expect.any(String) }),
      ]);
      const cache = new ApiKeyCache(new ApiKeys(pg.db));
      await cache.start();
      cache.stop();
      expect(await cache.verify(key)).toEqual({ status: "revoked", keyId: id });
    } finally {
      await pg.close();
    }
  });

  it("reaches a running store through its operator socket, whose cache knows the key at once", async () => {
    // The running store holds its PGlite open (here in memory: only the socket can reach it).
    const running = mkdtempSync(path.join(tmpdir(), "marquee-keys-live-"));
    const pg = await createPostgres({ DATABASE_URL: undefined, dataDir: running }, servingSchema, { inMemory: true });
    try {
      await pg.migrate(SERVING_MIGRATIONS, { table: SERVING_MIGRATIONS_TABLE });
      const keys = new ApiKeys(pg.db);
      const cache = new ApiKeyCache(keys, { refreshMs: 60_000 });
      await cache.start();
      let refreshed = 0;
      const operator = await serveOperatorCommands(
        operatorSocketPath(running),
        { grantRoleByEmail: async () => false },
        createLogger({ service: "test", level: "silent" }),
        apiKeyCommands(keys, {
          afterChange: async () => {
            refreshed++;
            await cache.reload();
          },
        }),
      );
      try {
        const liveEnv = { ...env, DATA_DIR: running };
        const key = keyIn((await cli(liveEnv, "create", "--name", "Partner", "--scopes", "users:read")).stdout);
        expect(refreshed).toBe(1);
        expect(await cache.verify(key)).toMatchObject({
          status: "ok",
          key: { name: "Partner", scopes: ["users:read"] },
        });
        const listed = await cli(liveEnv, "list", "--json");
        expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: "Partner", revoked_at: null })]);
        expect(listed.stdout).not.toContain(parseClientKey(key)?.secret);
      } finally {
        cache.stop();
        await operator.close();
      }
    } finally {
      await pg.close();
      rmSync(running, { recursive: true, force: true });
    }
  });
});

serviceSuite("marquee api-keys on Postgres", process.env.TEST_DATABASE_URL, (url) => {
  const name = `marquee_keys_cli_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = () => createPostgres({ DATABASE_URL: url, dataDir: "" }, {});
  // Built in the test, not here: a skipped suite (no URL) is still collected, with url "".
  const target = () => {
    const u = new URL(url);
    u.pathname = `/${name}`;
    return u.toString();
  };
  afterAll(async () => {
    const a = await admin();
    await a.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
    await a.close();
  });

  it("creates and lists keys in DATABASE_URL's database", async () => {
    const a = await admin();
    await a.db.execute(sql.raw(`create database ${name}`));
    await a.close();
    const env = { ...process.env, DATABASE_URL: target(), LOG_LEVEL: "silent" };
    const key = keyIn((await cli(env, "create", "--name", "Backend", "--scopes", "catalog:read,users:read")).stdout);
    const listed = await cli(env, "list");
    expect(listed.stdout).toContain(`mq_${parseClientKey(key)?.keyId}_…  "Backend"  catalog:read,users:read`);
    const pg = await createPostgres({ DATABASE_URL: target(), dataDir: "" }, servingSchema);
    try {
      const cache = new ApiKeyCache(new ApiKeys(pg.db));
      await cache.start();
      cache.stop();
      expect((await cache.verify(key)).status).toBe("ok");
    } finally {
      await pg.close();
    }
  });
});
