import { expect, it } from "vitest";
import { KafkaBus } from "./kafka/index.ts";
import { createLogger } from "./logger.ts";
import { checkReadiness } from "./readiness.ts";
import { serviceSuite } from "./testing.ts";

const BROKERS = process.env.TEST_KAFKA_BROKERS ?? "";

serviceSuite("readiness of the Kafka bus", BROKERS ? `kafka://${BROKERS.split(",")[0]}` : undefined, () => {
  it("is ready while the broker answers, and names the bus once it is closed", async () => {
    const bus = await KafkaBus.connect({
      brokers: BROKERS.split(","),
      clientId: `readiness-${Date.now()}`,
      logger: createLogger({ service: "test", level: "silent" }),
    });
    try {
      const up = await checkReadiness({ bus: () => bus.health() });
      expect(up).toMatchObject({ status: "ok", checks: { bus: { ok: true } } });
      // A second probe reuses the admin connection.
      expect((await checkReadiness({ bus: () => bus.health() })).status).toBe("ok");
    } finally {
      await bus.close();
    }
    const down = await checkReadiness({ bus: () => bus.health() });
    expect(down).toMatchObject({ status: "unavailable", failed: ["bus"], checks: { bus: { error: "bus is closed" } } });
  });
});
