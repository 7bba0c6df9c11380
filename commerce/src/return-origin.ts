/**
 * Where a payment provider (Stripe's page, the local test page) sends the browser back after
 * checkout: the origin the viewer is using, when it is one this store is known to answer at;
 * otherwise the configured public address.
 *
 * The request's Host header alone is never trusted: the client writes it, and return addresses
 * built from it blindly would let a crafted request make the store hand out links to any site
 * (an open redirect by way of the payment page, or a poisoned shared cache). So the Host is
 * only *matched* against the store's own origins:
 *  - the configured public address (PUBLIC_URL, else the server's own http://localhost:PORT);
 *  - when that address is a loopback name (local development), the same scheme and port under
 *    the other loopback names — localhost, 127.0.0.1 and [::1] reach the same server, and as a
 *    browser keeps cookies per host name, returning a viewer who started on 127.0.0.1 to
 *    localhost would land them signed out.
 * Anything else gets the configured address, exactly as before.
 *
 * No imports: the storefront bundles this file (`@marquee/commerce/return-origin`).
 */
const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];

export function returnOrigin(requestHost: string | null | undefined, publicUrl: string): string {
  let configured: URL;
  try {
    configured = new URL(publicUrl);
  } catch {
    return publicUrl.replace(/\/+$/, "");
  }
  const origin = configured.origin;
  const host = requestHost?.trim().toLowerCase();
  if (!host || !LOOPBACK.includes(configured.hostname.toLowerCase())) return origin;
  const port = configured.port;
  for (const name of LOOPBACK) {
    if (host === (port ? `${name}:${port}` : name)) return `${configured.protocol}//${host}`;
  }
  return origin;
}
