import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Shelf } from "../components/shelf";
import { Spotlight } from "../components/spotlight";
import { actorOf, audienceOf } from "../lib/session.server";
import { toShelves } from "../lib/shelves.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "home" };

export const meta: MetaFunction = () => [
  { title: "Marquee — films to buy, rent and watch" },
  { name: "description", content: "Buy, rent and watch films, with rows picked for you." },
];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const actor = await actorOf(request, context);
  const audience = audienceOf(actor.viewer);
  // Serving ranks for this audience: a kids' profile's rows, headings and reasons hold nothing
  // above its limit, even from the account's own history. The catalogue checks the cards again.
  const { rows } = await services.serving.rows(actor.id, { audience });
  return { shelves: await toShelves(services.catalog, rows, audience) };
}

export default function Home() {
  const { shelves } = useLoaderData<typeof loader>();
  if (shelves.length === 0) {
    return (
      <div className="empty-state">
        <h1>The projector is warming up</h1>
        <p>There is nothing to show here yet. Once titles are in the catalogue, your rows appear here.</p>
      </div>
    );
  }
  const [first] = shelves;
  const featured = first?.cards[0];
  return (
    <div className="home">
      <h1 className="visually-hidden">Marquee home</h1>
      {first && featured ? (
        <Spotlight card={featured} row={first.id} modelVersion={first.model_version} label={first.title} />
      ) : null}
      {shelves.map((s, i) => (
        <Shelf
          key={s.id}
          id={s.id}
          title={s.title}
          reason={s.reason}
          modelVersion={s.model_version}
          variant={s.variant}
          why={s.why}
          cards={s.cards}
          eager={i === 0}
        />
      ))}
    </div>
  );
}
