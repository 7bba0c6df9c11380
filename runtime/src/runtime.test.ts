import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createBus, InProcessBus } from "./bus.ts";
import { dedupSettings } from "./clickhouse.ts";
import { loadConfig } from "./config.ts";
import { AppError, toErrorResponse } from "./errors.ts";
import { PoisonMessageError } from "./kafka/index.ts";
import { createLogger } from "./logger.ts";
import { ModelStore } from "./model-store.ts";
import { createOnlineStore, MemoryOnlineStore } from "./online-store.ts";

describe("config", () => {
  it("has working defaults for embedded mode", () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.CLICKHOUSE_URL).toBeUndefined();
    expect(path.isAbsolute(c.dataDir)).toBe(true);
    expect(c.dataDir.endsWith(".data")).toBe(true);
    expect(c.SEED_ON_START).toBe(true);
  });

  it("treats empty URLs as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", CLICKHOUSE_URL: " " }).DATABASE_URL).toBeUndefined();
  });

  it("names every bad variable in one error", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "99999", DATABASE_URL: "mysql://x", LOG_LEVEL: "loud", CLICKHOUSE_DATABASE: "a;drop" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    const message = (error as AppError).message;
    for (const name of ["PORT", "DATABASE_URL", "LOG_LEVEL", "CLICKHOUSE_DATABASE"]) expect(message).toContain(name);
    expect((error as AppError).code).toBe("config");
  });
});

describe("errors", () => {
  it("never leaks internals in 5xx bodies", () => {
    expect(toErrorResponse(new Error("password=hunter2")).body.error.message).toBe("internal error");
    expect(toErrorResponse(new AppError("internal", "db at 10.0.0.1 failed")).body.error.message).toBe(
      "internal error",
    );
    expect(toErrorResponse(new AppError("not_found", "no such title"))).toEqual({
      status: 404,
      body: { error: { code: "not_found", message: "no such title" } },
    });
  });
});

describe("in-process bus", () => {
  it("batches publishes and resolves only after every group handled them", async () => {
    const bus = new InProcessBus({ lingerMs: 5 });
    const seen: number[][] = [];
    await bus.subscribe<number>("t", "g1", async (b) => {
      seen.push(b.messages.map((m) => m.value));
    });
    await Promise.all([bus.publish("t", [{ key: "a", value: 1 }]), bus.publish("t", [{ key: "a", value: 2 }])]);
    expect(seen).toEqual([[1, 2]]);
  });

  it("rejects the publish when a handler fails, and keeps going afterwards", async () => {
    const bus = new InProcessBus({ lingerMs: 0 });
    let fail = true;
    await bus.subscribe("t", "g", async () => {
      if (fail) throw new Error("down");
    });
    await expect(bus.publish("t", [{ key: "k", value: 1 }])).rejects.toThrow("down");
    fail = false;
    await expect(bus.publish("t", [{ key: "k", value: 2 }])).resolves.toBeUndefined();
  });
});

describe("in-process bus decode", () => {
  it("hands each group its own decoded batch and leaves out what its decoder refuses", async () => {
    const bus = new InProcessBus({ lingerMs: 0 });
    const decoded: number[][] = [];
    const plain: unknown[][] = [];
    await bus.subscribe<number>("t", "numbers", async (b) => void decoded.push(b.messages.map((m) => m.value)), {
      decode: (v) => {
        if (typeof (v as { n?: unknown }).n !== "number") throw new PoisonMessageError("n: must be a number");
        return (v as { n: number }).n * 10;
      },
      // Tuning for a broker: accepted, and meaningless here.
      maxBatchMessages: 1,
      consumers: 2,
    });
    await bus.subscribe("t", "raw", async (b) => void plain.push(b.messages.map((m) => m.value)));
    await bus.publish("t", [
      { key: "a", value: { n: 1 } },
      { key: "b", value: { n: "x" } },
      { key: "c", value: { n: 3 } },
    ]);
    expect(decoded).toEqual([[10, 30]]);
    expect(plain).toEqual([[{ n: 1 }, { n: "x" }, { n: 3 }]]);
  });
});

describe("mode switch", () => {
  it("gives the in-process bus and the memory store without KAFKA_BROKERS and REDIS_URL", async () => {
    const config = loadConfig({});
    const bus = await createBus(config, { logger: createLogger({ service: "test", level: "silent" }) });
    expect(bus.kind).toBe("in-process");
    await bus.close();
    const online = await createOnlineStore(config);
    expect(online.kind).toBe("memory");
  });
});

describe("memory online store", () => {
  it("keeps the newest interactions per actor, without duplicates, and bounds actors", async () => {
    const store = new MemoryOnlineStore({ capacity: 3, maxActors: 2 });
    await store.append(
      "a",
      [1, 5, 3, 4].map((at) => ({ item_id: `t${at}`, type: "click", at })),
    );
    await store.append("a", [{ item_id: "t5", type: "click", at: 5 }]);
    expect((await store.recent("a")).map((r) => r.at)).toEqual([5, 4, 3]);
    await store.append("b", [{ item_id: "x", type: "click", at: 1 }]);
    await store.append("c", [{ item_id: "x", type: "click", at: 1 }]);
    expect(await store.recent("a")).toEqual([]); // evicted: least recently written
    expect(store.size).toBe(2);
  });
});

describe("model store", () => {
  it("writes versions atomically, moves the current pointer and prunes old versions", async () => {
    const store = new ModelStore(mkdtempSync(path.join(tmpdir(), "models-")));
    expect(await store.currentVersion("pop")).toBeNull();
    const base = { name: "pop", data_until: null, metrics: {}, backend: "cpu", git_sha: null, params: {} };
    const v1 = await store.write({ ...base, version: "v1" }, { "a.json": "[1]" });
    const v2 = await store.write({ ...base, version: "v2" }, { "a.json": "[2]" });
    await store.setCurrent("pop", v1.version);
    expect(await store.currentVersion("pop")).toBe("v1");
    await store.setCurrent("pop", v2.version);
    expect((await store.readFile("pop", "v2", "a.json")).toString()).toBe("[2]");
    await store.write({ ...base, version: "v3" }, {});
    await store.setCurrent("pop", "v2");
    expect(await store.prune("pop", 1)).toEqual(["v1"]); // v2 is current, so it stays
    expect(await store.list("pop")).toEqual(["v2", "v3"]);
    await expect(store.setCurrent("pop", "nope")).rejects.toThrow();
    await expect(store.write({ ...base, name: "../evil" }, {})).rejects.toThrow(/invalid model name/);
  });
});

describe("clickhouse dedup settings", () => {
  it("puts a safe token in the statement, for the views' tables too", () => {
    expect(dedupSettings("events.v1-3-10-11")).toBe(
      "SETTINGS insert_deduplication_token = 'events.v1-3-10-11', deduplicate_blocks_in_dependent_materialized_views = 1",
    );
    expect(dedupSettings("a'; DROP TABLE x --")).toContain("'a___DROP_TABLE_x_--'");
  });
});
