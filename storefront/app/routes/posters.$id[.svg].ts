import { ID_PATTERN } from "@marquee/contracts";
import type { LoaderFunctionArgs } from "@remix-run/node";
import { audienceOf, getViewer } from "../lib/session.server";

/** GET /posters/<id>.svg: a title's generated SVG poster. */
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const id = params.id ?? "";
  // A kids' profile gets no poster above its limit, as if the title did not exist.
  const viewer = ID_PATTERN.test(id) ? await getViewer(request, context) : null;
  const limited = Boolean(viewer?.profile.max_age_rating);
  const svg = ID_PATTERN.test(id) ? await context.services.catalog.poster(id, audienceOf(viewer)) : null;
  if (svg === null) {
    return new Response("Poster not found", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  return new Response(svg, {
    headers: {
      "content-type": "image/svg+xml",
      // Posters are the same for everyone, except that a limited profile's answer is its own.
      "cache-control": limited ? "private, max-age=86400" : "public, max-age=86400",
      // An SVG opened directly must not run scripts or load anything.
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
      "x-content-type-options": "nosniff",
    },
  });
}
