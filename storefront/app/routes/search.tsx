import { data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import { PosterCard } from "../components/poster-card";
import { audienceOf, getViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "search" };

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data?.q ? `“${data.q}” — Search — Marquee` : "Search — Marquee" },
];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const q = (new URL(request.url).searchParams.get("q") ?? "").trim().slice(0, 200);
  // Postgres text cannot hold NUL: a 400 with the reason, not a 500 from the query.
  if (q.includes("\u0000")) throw data("Search text must not contain NUL (U+0000) characters.", { status: 400 });
  const viewer = await getViewer(request, context);
  // The catalogue searches only what this audience may see: a kids' profile finds nothing above its limit.
  const results = q ? await context.services.catalog.search(q, { limit: 40, audience: audienceOf(viewer) }) : [];
  return { q, results };
}

export default function SearchPage() {
  const { q, results } = useLoaderData<typeof loader>();
  return (
    <div className="page search-page">
      <h1>{q ? `Results for “${q}”` : "Search"}</h1>
      <Form method="get" role="search" className="search-form large">
        <label htmlFor="search-page-q" className="visually-hidden">
          Search films by title, director, cast or genre
        </label>
        <input
          id="search-page-q"
          className="search-input"
          type="search"
          name="q"
          defaultValue={q}
          placeholder="Title, director, cast or genre"
        />
        <button type="submit" className="button primary small">
          Search
        </button>
      </Form>
      {q && results.length === 0 ? <p className="lede">Nothing matches “{q}”. Try another word.</p> : null}
      {results.length > 0 ? (
        <ol className="card-grid" aria-label="Search results">
          {results.map((card, i) => (
            <li key={card.id}>
              <PosterCard card={card} row="search" position={i} modelVersion="search" />
            </li>
          ))}
        </ol>
      ) : null}
    </div>
  );
}
