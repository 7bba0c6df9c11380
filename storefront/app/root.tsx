import { data, type HeadersFunction, type LinksFunction, type LoaderFunctionArgs } from "@remix-run/node";
import {
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  useLoaderData,
  useLocation,
  useMatches,
  useRouteError,
} from "@remix-run/react";
import { type ReactNode, useEffect, useRef } from "react";
import { getActor } from "./lib/actor.server";
import { configureTracker, observeImpressions, pageView } from "./lib/track.client";
import stylesheet from "./styles.css?url";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const actor = getActor(request, context);
  const headers = new Headers();
  if (actor.setCookie) headers.append("Set-Cookie", actor.setCookie);
  return data({ actorId: actor.id, eventsUrl: context.services.eventsUrl }, { headers });
}

/** Pages are personalised: shared caches must not keep them; browsers revalidate. */
export const headers: HeadersFunction = () => ({ "Cache-Control": "private, no-cache" });

/** Routes name themselves for analytics with `handle = { page: "…" }`. */
export interface PageHandle {
  page: string;
}

function usePageName(): string {
  const matches = useMatches();
  for (let i = matches.length - 1; i >= 0; i--) {
    const handle = matches[i]?.handle as Partial<PageHandle> | undefined;
    if (handle?.page) return handle.page;
  }
  return "other";
}

function Header() {
  return (
    <header className="site-header">
      <div className="site-header-inner">
        <Link to="/" className="logo" aria-label="Marquee, home">
          <span className="logo-mark" aria-hidden="true" />
          <span className="logo-text">Marquee</span>
        </Link>
        <nav aria-label="Main">
          <ul className="nav">
            <li>
              <NavLink to="/" end className="nav-link">
                Home
              </NavLink>
            </li>
          </ul>
        </nav>
      </div>
    </header>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
        <meta name="theme-color" content="#07070b" />
        <meta name="color-scheme" content="dark" />
        <Meta />
        <Links />
      </head>
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <Header />
        <main id="main" className="site-main">
          {children}
        </main>
        <footer className="site-footer">
          <p>Marquee · an open-source video store</p>
        </footer>
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  const { actorId, eventsUrl } = useLoaderData<typeof loader>();
  const location = useLocation();
  const pageName = usePageName();
  const previousUrl = useRef<string | null>(null);

  useEffect(() => configureTracker({ actorId, eventsUrl }), [actorId, eventsUrl]);

  // One page view per navigation, then impressions for the cards it shows. Effects run after
  // the new page is in the DOM, so the observer sees the new cards.
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed on the navigation, not its parts
  useEffect(() => {
    const referrer = previousUrl.current ?? (document.referrer || undefined);
    pageView(pageName, location.pathname + location.search, referrer);
    previousUrl.current = window.location.href;
    return observeImpressions(document);
  }, [location.key]);

  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const notFound = isRouteErrorResponse(error) && error.status === 404;
  return (
    <div className="error-page">
      <p className="error-code">{isRouteErrorResponse(error) ? error.status : "Oops"}</p>
      <h1>{notFound ? "We couldn't find that page" : "Something went wrong"}</h1>
      <p>
        {notFound
          ? "The link may be old, or the title may have left the store."
          : "We hit a problem showing this page. Please try again in a moment."}
      </p>
      <Link to="/" className="button primary">
        Back to the store
      </Link>
    </div>
  );
}
