import {
  type ActionFunctionArgs,
  data,
  type HeadersFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
  redirect,
} from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { CsrfField } from "../components/csrf-field";
import { Field, FormMessage } from "../components/form";
import { protectedForm } from "../lib/csrf.server";
import { attempt } from "../lib/errors.server";
import { formatDateTime, sentence } from "../lib/format";
import { getViewer, readSessionToken, safeNext, secureCookies, sessionCookie } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "signin" };

export const meta: MetaFunction = () => [{ title: "Sign in — Marquee" }];

/** A throttled sign-in says when to retry, for people (the page) and for clients (Retry-After). */
export const headers: HeadersFunction = ({ actionHeaders, parentHeaders }) => {
  const out = new Headers(parentHeaders);
  const retry = actionHeaders.get("Retry-After");
  if (retry) out.set("Retry-After", retry);
  return out;
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const next = safeNext(new URL(request.url).searchParams.get("next"));
  if (await getViewer(request, context)) throw redirect(next);
  return { next };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { form } = await protectedForm(request, context, { anonymous: true });
  const email = String(form.get("email") ?? "");
  const password = String(form.get("password") ?? "");
  const next = safeNext(form.get("next"));
  // The token being replaced (if any) is dropped: a fresh session at every sign-in.
  const result = await attempt(() =>
    context.services.commerce.accounts.signIn(
      { email, password },
      readSessionToken(request, context),
      context.clientAddress,
    ),
  );
  if (!result.ok) {
    const { error } = result;
    const wait = Number(error.details?.retryAfterSeconds);
    if (error.code === "rate_limited" && Number.isFinite(wait)) {
      const at = new Date(Date.now() + wait * 1000);
      return data(
        {
          email,
          error: `${error.details?.scope === "client" ? "Too many sign-in attempts from your network." : "Too many failed sign-ins for this address."} For your safety, please wait ${waitText(wait)} and try again (after ${formatDateTime(at)}).`,
        },
        { status: 429, headers: { "Retry-After": String(wait) } },
      );
    }
    return data({ email, error: sentence(error.message) }, { status: error.status });
  }
  const { token, viewer } = result.value;
  return redirect(next, {
    headers: { "Set-Cookie": sessionCookie(token, viewer.expiresAt, secureCookies(request, context)) },
  });
}

function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

export default function SignIn() {
  const { next } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <div className="auth-page">
      <h1>Sign in</h1>
      <p className="lede">Welcome back. Your library, profiles and rentals are waiting.</p>
      <Form method="post" className="form-card" noValidate={false}>
        <CsrfField />
        <input type="hidden" name="next" value={next} />
        <FormMessage error={result?.error} />
        <Field
          label="E-mail"
          name="email"
          type="email"
          autoComplete="username"
          required
          defaultValue={result?.email ?? ""}
          maxLength={254}
        />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        <button type="submit" className="button primary wide" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </Form>
      <p className="auth-switch">
        New to Marquee?{" "}
        <Link to={next === "/" ? "/signup" : `/signup?next=${encodeURIComponent(next)}`}>Create an account</Link>
      </p>
    </div>
  );
}
