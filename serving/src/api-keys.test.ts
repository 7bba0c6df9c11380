import { createHash } from "node:crypto";
import { createPostgres, type PostgresHandle, rowsOf, sql } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseClientKey } from "./access.ts";
import {
  ApiKeyCache,
  ApiKeys,
  apiKeyCommands,
  DEFAULT_KEY_RATE_LIMIT,
  SERVING_MIGRATIONS,
  SERVING_MIGRATIONS_TABLE,
} from "./api-keys.ts";
import { describeApiKeysResult, parseApiKeysArgs } from "./api-keys-command.ts";
import { servingSchema } from "./schema.ts";

let pg: PostgresHandle<typeof servingSchema>;
let keys: ApiKeys;
beforeAll(async () => {
  pg = await createPostgres({ DATABASE_URL: undefined, dataDir: "" }, servingSchema, { inMemory: true });
  await pg.migrate(SERVING_MIGRATIONS, { table: SERVING_MIGRATIONS_TABLE });
  keys = new ApiKeys(pg.db);
});
afterAll(async () => {
  await pg?.close();
});

describe("API keys: create, list, revoke", () => {
  it("creates a key whose full text is returned once and whose secret is never stored", async () => {
    const { key, api_key } = await keys.create({
      name: "Partner TV",
      scopes: ["catalog:read", "users:read"],
      rateLimitPerMinute: 120,
      corsOrigins: ["https://partner.example", "http://localhost:5173/"],
    });
    const parsed = parseClientKey(api_key);
    expect(parsed?.keyId).toBe(key.id);
    // 43 base64url characters: 256 bits of secret.
    expect(Buffer.from(parsed?.secret ?? "", "base64url")).toHaveLength(32);
    expect(key).toMatchObject({
      name: "Partner TV",
      scopes: ["catalog:read", "users:read"],
      rate_limit_per_minute: 120,
      cors_origins: ["https://partner.example", "http://localhost:5173"],
      revoked_at: null,
    });
    const [row] = rowsOf<Record<string, unknown>>(
      await pg.db.execute(sql`select * from serving_api_keys where id = ${key.id}`),
    );
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(parsed?.secret);
    expect(stored).not.toContain(api_key);
    expect(row?.secret_sha256).toBe(
      createHash("sha256")
        .update(parsed?.secret ?? "")
        .digest("hex"),
    );
    // Nor does the listing carry a hash or the secret.
    const listed = JSON.stringify(await keys.list());
    expect(listed).toContain(key.id);
    expect(listed).not.toContain(parsed?.secret);
    expect(listed).not.toContain(String(row?.secret_sha256));
  });

  it("gives a new key the default limit and no browser origins", async () => {
    const { key } = await keys.create({ name: "backend", scopes: ["users:read"] });
    expect(key.rate_limit_per_minute).toBe(DEFAULT_KEY_RATE_LIMIT);
    expect(key.cors_origins).toEqual([]);
  });

  it("refuses unknown scopes, no scopes, origins that are not origins, a blank name", async () => {
    await expect(keys.create({ name: "x", scopes: ["catalog:write"] })).rejects.toMatchObject({
      code: "bad_request",
      message: expect.stringMatching(/unknown scope catalog:write.*catalog:read, users:read/),
    });
    await expect(keys.create({ name: "x", scopes: [] })).rejects.toMatchObject({ code: "bad_request" });
    for (const origin of ["https://partner.example/app", "*", "partner.example", "ftp://partner.example", "null"])
      await expect(
        keys.create({ name: "x", scopes: ["catalog:read"], corsOrigins: [origin] }),
        origin,
      ).rejects.toMatchObject({ code: "bad_request", message: expect.stringMatching(/not an origin/) });
    await expect(keys.create({ name: "  ", scopes: ["catalog:read"] })).rejects.toMatchObject({
      code: "bad_request",
    });
    await expect(keys.create({ name: "x", scopes: ["catalog:read"], rateLimitPerMinute: 0 })).rejects.toMatchObject({
      code: "bad_request",
    });
  });

  it("revokes by id (or by the key itself), idempotently, and says when there is no such key", async () => {
    const { key, api_key } = await keys.create({ name: "to revoke", scopes: ["catalog:read"] });
    const first = await keys.revoke(key.id);
    expect(first.already_revoked).toBe(false);
    expect(first.key.revoked_at).not.toBeNull();
    const again = await keys.revoke(api_key);
    expect(again).toMatchObject({ already_revoked: true, key: { revoked_at: first.key.revoked_at } });
    await expect(keys.revoke("0123456789abcdef")).rejects.toMatchObject({ code: "not_found" });
    await expect(keys.revoke("drop table")).rejects.toMatchObject({ code: "bad_request" });
    expect((await keys.list()).find((k) => k.id === key.id)?.revoked_at).toBe(first.key.revoked_at);
  });
});

describe("ApiKeyCache", () => {
  it("verifies in memory; a revocation reaches a second replica's cache within its refresh", async () => {
    const { key, api_key } = await keys.create({ name: "replicated", scopes: ["catalog:read"] });
    const a = new ApiKeyCache(keys, { refreshMs: 200 });
    const b = new ApiKeyCache(keys, { refreshMs: 200 });
    await a.start();
    await b.start();
    try {
      expect(await b.verify(api_key)).toMatchObject({ status: "ok", key: { keyId: key.id, scopes: ["catalog:read"] } });
      // A wrong secret with a real id is "unknown", not a hint that the id exists.
      const forged = `mq_${key.id}_${"A".repeat(43)}`;
      expect(await b.verify(forged)).toEqual({ status: "unknown" });
      await apiKeyCommands(keys, { afterChange: () => a.reload() })["api-keys:revoke"]({ id: key.id });
      // The replica that ran the command sees it at once, the other within its refresh.
      expect(await a.verify(api_key)).toEqual({ status: "revoked", keyId: key.id });
      const started = Date.now();
      while ((await b.verify(api_key)).status === "ok") {
        if (Date.now() - started > 2_000) throw new Error("the second cache never saw the revocation");
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await b.verify(api_key)).toEqual({ status: "revoked", keyId: key.id });
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(await b.verify(forged)).toEqual({ status: "unknown" });
    } finally {
      a.stop();
      b.stop();
    }
  });

  it("knows a key made after its last refresh at once (one early re-read), and which origins keys allow", async () => {
    const cache = new ApiKeyCache(keys, { refreshMs: 60_000 });
    await cache.start();
    try {
      const { api_key } = await keys.create({
        name: "fresh",
        scopes: ["catalog:read"],
        corsOrigins: ["https://fresh.example"],
      });
      expect((await cache.verify(api_key)).status).toBe("ok");
      // Right after a made-up id's re-read, a key made since still works (it waits for the next one).
      expect(await cache.verify(`mq_ffffffffffffffff_${"B".repeat(43)}`)).toEqual({ status: "unknown" });
      const { api_key: next } = await keys.create({ name: "next", scopes: ["catalog:read"] });
      expect((await cache.verify(next)).status).toBe("ok");
      expect(cache.allowsOrigin("https://fresh.example")).toBe(true);
      expect(cache.allowsOrigin("https://evil.example")).toBe(false);
      expect(await cache.verify("mq_not-a-key")).toEqual({ status: "unknown" });
    } finally {
      cache.stop();
    }
  });
});

describe("marquee api-keys (the CLI's parsing and output)", () => {
  it("runs create, list and revoke from a command line", async () => {
    const commands = apiKeyCommands(keys);
    const create = parseApiKeysArgs([
      "create",
      "--name",
      "Mobile app",
      "--scopes",
      "catalog:read",
      "--rate-limit",
      "300/min",
      "--cors-origin",
      "https://a.example",
      "--cors-origin",
      "https://b.example",
    ]);
    expect(create).toMatchObject({ command: "api-keys:create" });
    const created = (await commands[create.command](create.args)) as { api_key: string; key: { id: string } };
    const printed = describeApiKeysResult(create.command, created, false);
    expect(printed).toContain(created.api_key);
    expect(printed).toMatch(/shown this once/);
    expect(printed).toContain("300/min");
    expect(printed).toContain("https://a.example,https://b.example");

    const list = parseApiKeysArgs(["list"]);
    const listed = describeApiKeysResult(list.command, await commands[list.command](list.args), false);
    expect(listed).toContain(`mq_${created.key.id}_…`);
    expect(listed).not.toContain(created.api_key);

    const revoke = parseApiKeysArgs(["revoke", created.key.id]);
    expect(describeApiKeysResult(revoke.command, await commands[revoke.command](revoke.args), false)).toMatch(
      /^Revoked/,
    );
    const after = describeApiKeysResult(list.command, await commands[list.command](list.args), false);
    expect(after).toMatch(new RegExp(`mq_${created.key.id}_….*REVOKED`));
  });

  it("explains bad command lines", () => {
    expect(() => parseApiKeysArgs(["create", "--scopes", "catalog:read"])).toThrow(/needs --name/);
    expect(() => parseApiKeysArgs(["create", "--name", "x", "--scopes", "a", "--rate-limit", "fast"])).toThrow(
      /requests per minute/,
    );
    expect(() => parseApiKeysArgs(["rotate"])).toThrow(/unknown api-keys command rotate/);
    expect(() => parseApiKeysArgs(["revoke"])).toThrow(/needs the key's id/);
    expect(
      parseApiKeysArgs(["create", "--name", "x", "--scopes", "catalog:read", "--rate-limit", "10/s"]).args,
    ).toMatchObject({ rateLimitPerMinute: 600 });
  });
});
