import { ID_PATTERN } from "@marquee/contracts";
import type { LoaderFunctionArgs } from "@remix-run/node";

/** GET /posters/<id>.svg: a title's generated SVG poster. */
export async function loader({ params, context }: LoaderFunctionArgs) {
  const id = params.id ?? "";
  const svg = ID_PATTERN.test(id) ? await context.services.catalog.poster(id) : null;
  if (svg === null) {
    return new Response("Poster not found", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  return new Response(svg, {
    headers: {
      "content-type": "image/svg+xml",
      "cache-control": "public, max-age=86400",
      // An SVG opened directly must not run scripts or load anything.
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
      "x-content-type-options": "nosniff",
    },
  });
}
