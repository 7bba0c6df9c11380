import { MODEL_NAMES } from "@marquee/contracts";
import { loadInteractions, loadItemActivity, loadTitleFeatures } from "@marquee/feature-store";
import type { ClickHouseClient, Logger, ModelMeta, ModelStore } from "@marquee/runtime";
import { DEFAULT_ITEM_TO_ITEM, fitItemToItem, itemToItemFiles } from "./item-to-item.ts";
import { fitPopularity, popularityFiles } from "./popularity.ts";

export interface RefreshResult {
  published: ModelMeta[];
  seconds: number;
  skipped?: string;
}

const KEEP_VERSIONS = 5;

/**
 * Rebuild the fast models — popularity and item-to-item — from ClickHouse, store them as new
 * registry versions and make them current. Point-in-time: only events before `now` are read.
 */
export async function refreshFastModels(options: {
  clickhouse: ClickHouseClient;
  store: ModelStore;
  logger: Logger;
  now?: Date;
  gitSha?: string | null;
}): Promise<RefreshResult> {
  const started = performance.now();
  const now = options.now ?? new Date();
  const log = options.logger.child({ job: "refresh-fast-models" });
  const catalogue = await loadTitleFeatures(options.clickhouse);
  if (catalogue.length === 0) {
    log.info("catalogue is empty: nothing to train");
    return { published: [], seconds: 0, skipped: "empty catalogue" };
  }
  const [activity, matrix] = await Promise.all([
    loadItemActivity(options.clickhouse, { until: now }),
    loadInteractions(options.clickhouse, { until: now, items: catalogue.map((t) => t.id) }),
  ]);
  const loaded = performance.now();
  const dataUntil = now.toISOString();
  const common = { data_until: dataUntil, backend: "typed-arrays", git_sha: options.gitSha ?? null };

  const popularity = fitPopularity(catalogue, activity);
  const popMeta = await options.store.write(
    {
      ...common,
      name: MODEL_NAMES.popularity,
      metrics: { items: catalogue.length, active_items: activity.length },
      params: { trending_half_life_days: 3, popular_half_life_days: 45 },
    },
    popularityFiles(popularity),
  );
  const i2iStarted = performance.now();
  const i2i = fitItemToItem(catalogue, matrix);
  const i2iSeconds = (performance.now() - i2iStarted) / 1000;
  const i2iMeta = await options.store.write(
    {
      ...common,
      name: MODEL_NAMES.itemToItem,
      metrics: {
        items: catalogue.length,
        users: matrix.users.length,
        interactions: matrix.weight.length,
        fit_seconds: Math.round(i2iSeconds * 1000) / 1000,
      },
      params: { ...DEFAULT_ITEM_TO_ITEM },
    },
    itemToItemFiles(i2i),
  );
  for (const meta of [popMeta, i2iMeta]) {
    await options.store.setCurrent(meta.name, meta.version);
    await options.store.prune(meta.name, KEEP_VERSIONS);
  }
  const seconds = (performance.now() - started) / 1000;
  log.info(
    {
      seconds: Math.round(seconds * 1000) / 1000,
      load_seconds: Math.round(((loaded - started) / 1000) * 1000) / 1000,
      items: catalogue.length,
      users: matrix.users.length,
      interactions: matrix.weight.length,
      versions: { [popMeta.name]: popMeta.version, [i2iMeta.name]: i2iMeta.version },
    },
    "fast models refreshed",
  );
  return { published: [popMeta, i2iMeta], seconds };
}

/**
 * Runs a job on an interval, never two at once in this process: a tick that finds the last
 * run still going is skipped, and `runNow` joins the run in progress instead of starting one.
 * (Cross-process single-flight comes with scheduled retraining.)
 */
export class SingleFlightSchedule<T> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<T> | null = null;

  constructor(
    private readonly job: () => Promise<T>,
    private readonly logger: Logger,
  ) {}

  runNow(): Promise<T> {
    if (this.running) return this.running;
    this.running = this.job().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  start(everySeconds: number): void {
    if (everySeconds <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.runNow().catch((err) => this.logger.error({ err }, "scheduled job failed"));
    }, everySeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
