import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Shelf } from "../components/shelf";
import { Spotlight } from "../components/spotlight";
import { getActor } from "../lib/actor.server";
import { toShelves } from "../lib/shelves.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "home" };

export const meta: MetaFunction = () => [
  { title: "Marquee — films to buy, rent and watch" },
  { name: "description", content: "Buy, rent and watch films, with rows picked for you." },
];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { services } = context;
  const actor = getActor(request, context);
  const { rows } = await services.serving.rows(actor.id);
  return { shelves: await toShelves(services.catalog, rows) };
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
          cards={s.cards}
          eager={i === 0}
        />
      ))}
    </div>
  );
}
