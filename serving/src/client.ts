import {
  type PopularResponse,
  PopularResponseSchema,
  type RecommendationsResponse,
  RecommendationsResponseSchema,
  type RowsResponse,
  RowsResponseSchema,
  type SessionRecommendationsResponse,
  SessionRecommendationsResponseSchema,
  type SimilarResponse,
  SimilarResponseSchema,
} from "@marquee/contracts";
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
  const get = async (path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(new URL(path, baseUrl), {
      ...(body === undefined
        ? { headers }
        : { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeout),
    });
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new AppError(
        res.status === 404
          ? "not_found"
          : res.status === 401
            ? "unauthorized"
            : res.status === 403
              ? "forbidden"
              : res.status === 429
                ? "rate_limited"
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
    async recommendations(actorId, opts = {}): Promise<RecommendationsResponse> {
      const q = query({
        k: opts.k,
        genre: opts.genre,
        exclude_owned: opts.excludeOwned ? "true" : undefined,
        max_age_rating: opts.audience?.maxAgeRating,
        region: opts.audience?.region,
      });
      return RecommendationsResponseSchema.parse(
        await get(`/v1/users/${encodeURIComponent(actorId)}/recommendations${q}`),
      );
    },
    async sessionRecommendations(opts): Promise<SessionRecommendationsResponse> {
      const body = {
        item_ids: opts.itemIds,
        ...(opts.excludeItemIds ? { exclude_item_ids: opts.excludeItemIds } : {}),
        ...(opts.notInterestedIds ? { not_interested_ids: opts.notInterestedIds } : {}),
        ...(opts.k ? { k: opts.k } : {}),
        ...(opts.genre ? { genre: opts.genre } : {}),
        ...(opts.audience?.maxAgeRating ? { max_age_rating: opts.audience.maxAgeRating } : {}),
        ...(opts.audience?.region ? { region: opts.audience.region } : {}),
      };
      return SessionRecommendationsResponseSchema.parse(await get("/v1/sessions/recommendations", body));
    },
    async popular(opts = {}): Promise<PopularResponse> {
      const q = query({
        k: opts.k,
        genre: opts.genre,
        window: opts.window,
        max_age_rating: opts.audience?.maxAgeRating,
        region: opts.audience?.region,
      });
      return PopularResponseSchema.parse(await get(`/v1/popular${q}`));
    },
  };
}
