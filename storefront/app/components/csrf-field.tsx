import { useRouteLoaderData } from "@remix-run/react";
import type { loader as rootLoader } from "../root";

/**
 * The hidden `_csrf` field every form post carries (checked by `protectedForm` on the server):
 * the session's token when signed in, the double-submit cookie's before. The root loader
 * provides it, and revalidates after every action, so a sign-in swaps it at once.
 */
export function CsrfField() {
  const root = useRouteLoaderData<typeof rootLoader>("root");
  return <input type="hidden" name="_csrf" value={root?.csrf ?? ""} />;
}

/** The root's view of who is signed in, for components that adapt to it. */
export function useAccount() {
  return useRouteLoaderData<typeof rootLoader>("root")?.account ?? null;
}
