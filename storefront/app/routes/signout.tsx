import { type ActionFunctionArgs, redirect } from "@remix-run/node";
import { protectedForm } from "../lib/csrf.server";
import { clearSessionCookie, getViewer, readSessionToken, secureCookies } from "../lib/session.server";

/** POST /signout: ends the session on the server and drops the cookie. GET does nothing. */
export async function action({ request, context }: ActionFunctionArgs) {
  const signedOut = redirect("/", { headers: { "Set-Cookie": clearSessionCookie(secureCookies(request, context)) } });
  // A session that already ended has nothing left to protect: just drop the cookie.
  if (!(await getViewer(request, context))) return signedOut;
  await protectedForm(request, context);
  const token = readSessionToken(request, context);
  if (token) await context.services.commerce.accounts.signOut(token);
  return signedOut;
}

export async function loader() {
  return redirect("/");
}
