import { Counter, Gauge, Histogram, type Registry } from "@marquee/runtime";
import type { FastifyInstance } from "fastify";
import type { ModelHub } from "./models.ts";

/**
 * Serving's Prometheus metrics, on the registry the process exposes at /metrics:
 *  - marquee_serving_requests_total{route,method,status}: request rate and errors by route;
 *  - marquee_serving_request_duration_seconds{route,method}: latency histogram per route,
 *    buckets fine enough around the 10 ms target to read a p99 from;
 *  - marquee_serving_model_info{model,version}: 1 for each model version held now (a
 *    replaced version's series ends), so a dashboard shows which versions every replica serves;
 *  - marquee_serving_experiments: experiments in force.
 * Routes are the templates (`/v1/users/:id/rows`), never the ids.
 */
export function servingMetrics(app: FastifyInstance, options: { registry: Registry; hub: ModelHub }): void {
  const { registry, hub } = options;
  const requests = new Counter({
    name: "marquee_serving_requests_total",
    help: "Serving API requests by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "marquee_serving_request_duration_seconds",
    help: "Serving API request latency by route",
    labelNames: ["route", "method"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: "marquee_serving_model_info",
    help: "1 for each model version serving holds",
    labelNames: ["model", "version"] as const,
    registers: [registry],
    collect() {
      // Only what is held now: a replaced version's series ends.
      this.reset();
      for (const [model, version] of Object.entries(hub.versions())) if (version) this.set({ model, version }, 1);
    },
  });
  new Gauge({
    name: "marquee_serving_experiments",
    help: "Experiments in force (experiments.json)",
    registers: [registry],
    collect() {
      this.set(hub.experiments.length);
    },
  });
  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    if (route.startsWith("/v1/")) {
      requests.inc({ route, method: request.method, status: String(reply.statusCode) });
      duration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    }
    done();
  });
}
