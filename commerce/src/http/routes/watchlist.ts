import type { RouteContext } from "../route-context.ts";
import { CardsSchema } from "../schemas.ts";

/** The profile's watchlist. */
export function watchlistRoutes({ app, api, commerce, withPoster, audienceOf }: RouteContext): void {
  api.route(app, {
    method: "GET",
    path: "/watchlist",
    operationId: "watchlist",
    summary: "The profile's watchlist, newest first",
    tag: "library",
    auth: "viewer",
    response: { description: "Cards", schema: CardsSchema },
    handler: async ({ viewer }) => ({
      items: (await commerce.catalog.cards(await commerce.library.watchlist(viewer), audienceOf(viewer))).map(
        withPoster,
      ),
    }),
  });
  api.route(app, {
    method: "PUT",
    path: "/watchlist/:titleId",
    operationId: "addToWatchlist",
    summary: "Add a title to the profile's watchlist (idempotent)",
    tag: "library",
    auth: "viewer",
    response: { status: 204, description: "Added" },
    errors: [404],
    handler: ({ viewer, param }) => commerce.library.addToWatchlist(viewer, param("titleId")),
  });
  api.route(app, {
    method: "DELETE",
    path: "/watchlist/:titleId",
    operationId: "removeFromWatchlist",
    summary: "Remove a title from the profile's watchlist (idempotent)",
    tag: "library",
    auth: "viewer",
    response: { status: 204, description: "Removed" },
    handler: ({ viewer, param }) => commerce.library.removeFromWatchlist(viewer, param("titleId")),
  });
}
