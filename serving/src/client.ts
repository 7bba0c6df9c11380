import { type RowsResponse, RowsResponseSchema, type SimilarResponse, SimilarResponseSchema } from "@marquee/contracts";
import { AppError } from "@marquee/runtime";
import type { ServingApi } from "./recommender.ts";

/**
 * The typed HTTP client of the serving API, for the storefront in scaled mode and for other
 * clients. Times out quickly: a slow recommendation must not hold up a page.
 */
export function createServingClient(
  baseUrl: string,
  options: {
    timeoutMs?: number /** SERVING_API_KEY: a trusted backend reads any viewer's rows. */;
    apiKey?: string;
  } = {},
): ServingApi {
  const timeout = options.timeoutMs ?? 500;
  const headers: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  const get = async (path: string): Promise<unknown> => {
    const res = await fetch(new URL(path, baseUrl), { headers, signal: AbortSignal.timeout(timeout) });
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new AppError(
        res.status === 404
          ? "not_found"
          : res.status === 401
            ? "unauthorized"
            : res.status === 403
              ? "forbidden"
              : res.status < 500
                ? "bad_request"
                : "unavailable",
        body?.error?.message ?? `serving answered ${res.status}`,
      );
    }
    return res.json();
  };
  const query = (params: Record<string, string | number | null | undefined>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    return q.size > 0 ? `?${q}` : "";
  };
  return {
    async rows(actorId, opts = {}): Promise<RowsResponse> {
      const q = query({
        limit: opts.limit,
        max_age_rating: opts.audience?.maxAgeRating,
        region: opts.audience?.region,
      });
      return RowsResponseSchema.parse(await get(`/v1/users/${encodeURIComponent(actorId)}/rows${q}`));
    },
    async similar(itemId, opts = {}): Promise<SimilarResponse> {
      const q = query({
        limit: opts.limit,
        user_id: opts.actorId,
        max_age_rating: opts.audience?.maxAgeRating,
        region: opts.audience?.region,
      });
      return SimilarResponseSchema.parse(await get(`/v1/items/${encodeURIComponent(itemId)}/similar${q}`));
    },
  };
}
