import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import { actorId } from "@marquee/contracts";
import type { Counter, EventBus, Histogram, Logger, OnlineStore, RecentInteraction, Registry } from "@marquee/runtime";
import { AppError, Counter as PromCounter, Histogram as PromHistogram } from "@marquee/runtime";
import type { FastifyInstance } from "fastify";
import { publishEvents, validateBatch } from "./collector.ts";
import { historyEntry } from "./loader.ts";

/** 1 MiB: 500 events of ~2 KiB each. Larger bodies get 413 before any parsing. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface CollectorOptions {
  bus: EventBus;
  /** Where accepted events go; default events.v1. */
  topic?: string;
  /**
   * Other origins whose pages may post events from a browser (the storefront's, when it is
   * served from another host). Same-origin posts and sendBeacon need no CORS.
   */
  corsOrigins?: readonly string[];
  /** Oldest occurred_at accepted, in days before the receive time (default 30). */
  maxEventAgeDays?: number;
  /** Requests per client IP per minute; 0 or unset: no limit. Over it: 429 with Retry-After. */
  rateLimitPerMinute?: number;
  logger: Logger;
  metrics?: Registry;
  /**
   * Serving's online store: with it, the accepted events' history entries are appended before
   * the answer, so a click or a "not interested" changes the viewer's very next rows (the
   * loader, a batch later, appends the same entries: the store keeps each interaction once).
   * Best effort: the bus is the durable path, and a failure here only delays the effect.
   */
  online?: OnlineStore;
}

interface CollectorMetrics {
  events: Counter<"outcome">;
  duration: Histogram<"status">;
}

function collectorMetrics(registry: Registry | undefined): CollectorMetrics {
  const registers = registry ? [registry] : [];
  return {
    events: new PromCounter({
      name: "marquee_ingest_events_total",
      help: "Events received by the collector, by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    duration: new PromHistogram({
      name: "marquee_ingest_request_duration_seconds",
      help: "Collector request duration",
      labelNames: ["status"] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers,
    }),
  };
}

/**
 * POST /v1/events: `{"events":[...]}`, up to 500. Answers 200 with
 * `{"accepted":n,"rejected":[{"index":i,"reason":"..."}]}` when at least one event was
 * accepted (and stored: the bus resolves only once the events are durable), 400 with the same
 * body when none was, 400 for malformed JSON, 413 for an oversized body, 503 when storage is
 * unavailable (retry: nothing was accepted).
 */
export async function collectorRoutes(app: FastifyInstance, options: CollectorOptions): Promise<void> {
  const metrics = collectorMetrics(options.metrics);
  const limits = { maxEventAgeDays: options.maxEventAgeDays };
  // Both plugins apply to this plugin's routes only (Fastify encapsulation).
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: [...options.corsOrigins],
      methods: ["POST"],
      allowedHeaders: ["content-type"],
      maxAge: 600,
    });
  }
  const limit = options.rateLimitPerMinute ?? 0;
  if (limit > 0) {
    await app.register(rateLimit, {
      global: false,
      // The socket address: behind a proxy, set Fastify's trustProxy so this is the client.
      keyGenerator: (request) => request.ip,
      errorResponseBuilder: (_request, context) =>
        new AppError("rate_limited", `too many requests: at most ${context.max} per minute, retry in ${context.after}`),
    });
  }
  // Browsers' sendBeacon posts text/plain; treat it as JSON so beacons work without preflight.
  app.addContentTypeParser("text/plain", { parseAs: "string", bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(new AppError("invalid_json", `body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });

  const routeOptions = {
    bodyLimit: MAX_BODY_BYTES,
    ...(limit > 0 ? { config: { rateLimit: { max: limit, timeWindow: 60_000 } } } : {}),
  };
  app.post("/v1/events", routeOptions, async (request, reply) => {
    const started = performance.now();
    const { result, events } = validateBatch(request.body, new Date(), limits);
    // From here the request needs counts only. Under load dozens of requests wait for Kafka's
    // acknowledgement at once; letting go of their parsed bodies now (the bus has what it needs
    // once publish returns its promise) keeps those objects out of the old generation.
    (request as { body: unknown }).body = undefined;
    const stored = events.length > 0 ? publishEvents(options.bus, events, options.topic) : undefined;
    const seen =
      options.online && events.length > 0 ? rememberAtOnce(options.online, events, options.logger) : undefined;
    events.length = 0;
    await stored;
    await seen;
    metrics.events.inc({ outcome: "accepted" }, result.accepted);
    if (result.rejected.length > 0) metrics.events.inc({ outcome: "rejected" }, result.rejected.length);
    const status = result.accepted === 0 ? 400 : 200;
    metrics.duration.observe({ status: String(status) }, (performance.now() - started) / 1000);
    if (result.rejected.length > 0) {
      request.log.debug({ rejected: result.rejected.length, accepted: result.accepted }, "events rejected");
    }
    return reply.code(status).send(result);
  });
}

/** The events' history entries, per actor, into the online store (errors logged, never thrown). */
async function rememberAtOnce(
  online: OnlineStore,
  events: Parameters<typeof historyEntry>[0][],
  logger: Logger,
): Promise<void> {
  const byActor = new Map<string, RecentInteraction[]>();
  for (const e of events) {
    const entry = historyEntry(e);
    if (!entry) continue;
    const actor = actorId(e);
    const list = byActor.get(actor);
    if (list) list.push(entry);
    else byActor.set(actor, [entry]);
  }
  try {
    await Promise.all([...byActor].map(([actor, list]) => online.append(actor, list)));
  } catch (err) {
    logger.warn({ err }, "online store append failed; the loader will add these interactions");
  }
}
