import { describe, expect, it } from "vitest";
import { InProcessBus } from "./bus.ts";
import { checkReadiness } from "./readiness.ts";

describe("checkReadiness", () => {
  it("is ok when every check resolves, with each check's time", async () => {
    const bus = new InProcessBus();
    const report = await checkReadiness({ bus: () => bus.health(), models: async () => undefined });
    expect(report).toMatchObject({ status: "ok", failed: [], checks: { bus: { ok: true }, models: { ok: true } } });
    expect(report.checks.bus?.ms).toBeGreaterThanOrEqual(0);
  });

  it("names the dependency that failed: a closed bus", async () => {
    const bus = new InProcessBus();
    await bus.close();
    const report = await checkReadiness({ postgres: async () => 1, bus: () => bus.health() });
    expect(report.status).toBe("unavailable");
    expect(report.failed).toEqual(["bus"]);
    expect(report.checks.bus).toMatchObject({ ok: false, error: "bus is closed" });
    expect(report.checks.postgres?.ok).toBe(true);
  });

  it("bounds a check that never answers by the timeout, and runs checks side by side", async () => {
    const started = Date.now();
    const report = await checkReadiness(
      { clickhouse: () => new Promise(() => {}), postgres: () => new Promise(() => {}) },
      { timeoutMs: 150 },
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(report.failed).toEqual(["clickhouse", "postgres"]);
    expect(report.checks.clickhouse?.error).toMatch(/no answer within 150 ms/);
  });

  it("keeps credentials out of the error it reports, and treats a synchronous throw as a failure", async () => {
    const report = await checkReadiness({
      postgres: async () => {
        throw new Error("connect failed for postgres://marquee:s3cret@db:5432/marquee");
      },
      kafka: () => {
        throw new Error("boom");
      },
    });
    expect(report.checks.postgres?.error).toBe("connect failed for postgres://***@db:5432/marquee");
    expect(report.checks.kafka).toMatchObject({ ok: false, error: "boom" });
  });
});
