import { data, type HeadersFunction, type LinksFunction, type LoaderFunctionArgs } from "@remix-run/node";
import {
  Form,
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
  useRouteLoaderData,
} from "@remix-run/react";
import { type ReactNode, useEffect, useRef } from "react";
import { CsrfField } from "./components/csrf-field";
import { formToken } from "./lib/csrf.server";
import { useNonce } from "./lib/nonce";
import { actorOf, clearSessionCookie, readSessionToken, secureCookies } from "./lib/session.server";
import { configureTracker, observeImpressions, pageView } from "./lib/track.client";
import stylesheet from "./styles.css?url";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const actor = await actorOf(request, context);
  const { viewer } = actor;
  const headers = new Headers();
  if (actor.setCookie) headers.append("Set-Cookie", actor.setCookie);
  const csrf = formToken(request, context, viewer);
  if (csrf.setCookie) headers.append("Set-Cookie", csrf.setCookie);
  // A cookie whose session has ended (expired, signed out elsewhere) is dropped.
  if (!viewer && readSessionToken(request, context))
    headers.append("Set-Cookie", clearSessionCookie(secureCookies(request, context)));
  return data(
    {
      actorId: actor.anonymousId,
      userId: viewer?.userId ?? null,
      eventsUrl: context.services.eventsUrl,
      csrf: csrf.token,
      account: viewer
        ? {
            name: viewer.displayName,
            profile: viewer.profile.name,
            kids: viewer.profile.kind === "kids",
            seller: viewer.roles.includes("seller"),
            admin: viewer.roles.includes("admin"),
          }
        : null,
    },
    { headers },
  );
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

function AccountMenu() {
  const root = useRouteLoaderData<typeof loader>("root");
  const location = useLocation();
  const account = root?.account;
  if (!account) {
    const next = location.pathname === "/signin" || location.pathname === "/signup" ? "" : location.pathname;
    const query = next && next !== "/" ? `?next=${encodeURIComponent(next)}` : "";
    return (
      <div className="account">
        <Link to={`/signin${query}`} className="nav-link">
          Sign in
        </Link>
        <Link to={`/signup${query}`} className="button primary small">
          Create account
        </Link>
      </div>
    );
  }
  return (
    // Keyed on the navigation so the menu closes when a link in it is followed.
    <details className="account account-menu" key={location.key}>
      <summary aria-label={`Account menu, profile ${account.profile}`}>
        <span className="avatar" aria-hidden="true">
          {account.profile.slice(0, 1).toUpperCase()}
        </span>
        <span className="account-name">{account.profile}</span>
        {account.kids ? <span className="badge">Kids</span> : null}
      </summary>
      <ul className="menu">
        <li className="menu-caption">
          Signed in as <strong>{account.name}</strong>
        </li>
        <li>
          <Link to="/profiles">Switch profile</Link>
        </li>
        <li>
          <Link to="/library">Your library</Link>
        </li>
        <li>
          <Link to="/watchlist">Your watchlist</Link>
        </li>
        <li>
          <Link to="/orders">Orders</Link>
        </li>
        {account.kids ? null : (
          <li>
            <Link to="/sell">{account.seller ? "Seller dashboard" : "Sell on Marquee"}</Link>
          </li>
        )}
        {account.admin ? (
          <li>
            <Link to="/admin/review">Admin: review queue</Link>
          </li>
        ) : null}
        <li>
          <Form method="post" action="/signout">
            <CsrfField />
            <button type="submit" className="menu-button">
              Sign out
            </button>
          </Form>
        </li>
      </ul>
    </details>
  );
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
            <li>
              <NavLink to="/library" className="nav-link">
                Library
              </NavLink>
            </li>
            <li>
              <NavLink to="/watchlist" className="nav-link">
                Watchlist
              </NavLink>
            </li>
          </ul>
        </nav>
        <Form method="get" action="/search" role="search" className="search-form">
          <label htmlFor="site-search" className="visually-hidden">
            Search films
          </label>
          <input
            id="site-search"
            className="search-input"
            type="search"
            name="q"
            placeholder="Search films"
            maxLength={200}
          />
        </Form>
        <AccountMenu />
      </div>
    </header>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const nonce = useNonce();
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
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  const { actorId, userId, eventsUrl } = useLoaderData<typeof loader>();
  const location = useLocation();
  const pageName = usePageName();
  const previousUrl = useRef<string | null>(null);

  useEffect(() => configureTracker({ actorId, userId, eventsUrl }), [actorId, userId, eventsUrl]);

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
  const status = isRouteErrorResponse(error) ? error.status : null;
  // Client errors carry a message written for the viewer (a 403 says why); 5xx never do.
  const told = isRouteErrorResponse(error) && status !== null && status < 500 && typeof error.data === "string";
  const heading =
    status === 404 ? "We couldn't find that page" : status === 403 ? "That was not allowed" : "Something went wrong";
  return (
    <div className="error-page">
      <p className="error-code">{status ?? "Oops"}</p>
      <h1>{heading}</h1>
      <p>
        {status === 404
          ? "The link may be old, or the title may have left the store."
          : told
            ? String(error.data)
            : "We hit a problem showing this page. Please try again in a moment."}
      </p>
      <Link to="/" className="button primary">
        Back to the store
      </Link>
    </div>
  );
}
