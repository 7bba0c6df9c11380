import { AppError } from "@marquee/runtime";
import type { RouteContext } from "../route-context.ts";
import {
  CardsSchema,
  RegionQuerySchema,
  SearchQuerySchema,
  SearchResultSchema,
  TitlePageSchema,
  TitlesQuerySchema,
} from "../schemas.ts";

/** The catalogue: title pages, cards by id, search. */
export function titleRoutes({ app, api, commerce, withPoster, audienceOf }: RouteContext): void {
  api.route(app, {
    method: "GET",
    path: "/titles/:id",
    operationId: "getTitle",
    summary: "One title with its offers (none outside the viewer's region)",
    tag: "catalogue",
    auth: "optional",
    query: RegionQuerySchema,
    response: { description: "The title", schema: TitlePageSchema },
    errors: [404],
    handler: async ({ viewer, query, param }) => {
      const title = await commerce.catalog.title(param("id"), audienceOf(viewer, query.region));
      if (!title) throw new AppError("not_found", "no such title");
      return withPoster(title);
    },
  });
  api.route(app, {
    method: "GET",
    path: "/titles",
    operationId: "listTitles",
    summary: "Cards for the given ids, in their order; ids not visible here are left out",
    tag: "catalogue",
    auth: "optional",
    query: TitlesQuerySchema,
    response: { description: "Cards", schema: CardsSchema },
    handler: async ({ viewer, query }) => ({
      items: (await commerce.catalog.cards(query.ids, audienceOf(viewer, query.region))).map(withPoster),
    }),
  });
  api.route(app, {
    method: "GET",
    path: "/search",
    operationId: "search",
    summary: "Search titles by name, director, cast or genre, best match first",
    tag: "catalogue",
    auth: "optional",
    query: SearchQuerySchema,
    response: { description: "Cards", schema: SearchResultSchema },
    handler: async ({ viewer, query }) => ({
      query: query.q,
      items: (
        await commerce.catalog.search(query.q, { limit: query.limit, audience: audienceOf(viewer, query.region) })
      ).map(withPoster),
    }),
  });
}
