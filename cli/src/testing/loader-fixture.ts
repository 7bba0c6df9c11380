/**
 * Child process for the loader crash test (cli/src/loader-crash.integration.test.ts); not part
 * of the product. Configured by the environment like `marquee loader`.
 *   crash-after-insert  run the real loader, and SIGKILL this process the moment its first
 *                       ClickHouse insert has landed, before the offsets are committed
 *   count               print {"rows","unique"} for the events of KAFKA_EVENTS_TOPIC, then exit
 */
import { migrateClickHouse } from "@marquee/analytics";
import { createClickHouse, createLogger, loadConfig } from "@marquee/runtime";
import { startLoaderProcess } from "../loader-process.ts";

const config = loadConfig();
const logger = createLogger({ service: "loader-fixture", level: config.LOG_LEVEL });
const mode = process.argv[2];

if (mode === "crash-after-insert") {
  await startLoaderProcess(config, logger, {
    onInserted: ({ rows }) => {
      process.stdout.write(`${JSON.stringify({ inserted: rows })}\n`);
      process.kill(process.pid, "SIGKILL");
      // Never resolves: the commit that would follow must not happen.
      return new Promise<void>(() => undefined);
    },
  });
} else if (mode === "count") {
  const ch = await createClickHouse(config);
  await migrateClickHouse(ch.client);
  const rs = await ch.client.query({
    query: "SELECT count() AS rows, uniqExact(event_id) AS unique FROM events WHERE source_topic = {topic:String}",
    query_params: { topic: config.KAFKA_EVENTS_TOPIC },
    format: "JSONEachRow",
  });
  const [r] = await rs.json<{ rows: number; unique: number }>();
  process.stdout.write(`${JSON.stringify({ rows: Number(r?.rows ?? 0), unique: Number(r?.unique ?? 0) })}\n`);
  await ch.close();
  process.exit(0);
} else {
  process.stderr.write("usage: loader-fixture.ts crash-after-insert|count\n");
  process.exit(2);
}
