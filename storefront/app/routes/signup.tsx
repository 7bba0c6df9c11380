import { type ActionFunctionArgs, data, type LoaderFunctionArgs, type MetaFunction, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { CsrfField } from "../components/csrf-field";
import { Field, FormMessage, SelectField } from "../components/form";
import { protectedForm } from "../lib/csrf.server";
import { attempt } from "../lib/errors.server";
import { sentence } from "../lib/format";
import { getViewer, readSessionToken, safeNext, secureCookies, sessionCookie } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "signup" };

export const meta: MetaFunction = () => [{ title: "Create your account — Marquee" }];

/** Where the account is: decides what is on sale to it (titles are licensed per region). */
const REGIONS = [
  ["US", "United States"],
  ["CA", "Canada"],
  ["GB", "United Kingdom"],
  ["IE", "Ireland"],
  ["DE", "Germany"],
  ["FR", "France"],
  ["ES", "Spain"],
  ["IT", "Italy"],
  ["NL", "Netherlands"],
  ["SE", "Sweden"],
  ["AU", "Australia"],
  ["NZ", "New Zealand"],
  ["JP", "Japan"],
  ["IN", "India"],
  ["BR", "Brazil"],
  ["MX", "Mexico"],
] as const;

const PASSWORD_MIN = 12;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const next = safeNext(new URL(request.url).searchParams.get("next"));
  if (await getViewer(request, context)) throw redirect(next);
  return { next };
}

type FieldName = "email" | "password" | "display_name" | "region";

/** Which field a commerce message is about ("password must be …", "email: …"). */
function fieldOf(message: string): FieldName | null {
  const m = message.toLowerCase();
  if (m.startsWith("password")) return "password";
  if (m.startsWith("email") || m.includes("e-mail")) return "email";
  if (m.startsWith("display_name")) return "display_name";
  if (m.startsWith("region")) return "region";
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { form } = await protectedForm(request, context, { anonymous: true });
  const email = String(form.get("email") ?? "");
  const password = String(form.get("password") ?? "");
  const displayName = String(form.get("display_name") ?? "").trim();
  const region = String(form.get("region") ?? "US");
  const next = safeNext(form.get("next"));
  const values = { email, display_name: displayName, region };
  const result = await attempt(() =>
    context.services.commerce.accounts.signUp(
      { email, password, region, ...(displayName ? { display_name: displayName } : {}) },
      readSessionToken(request, context),
      context.clientAddress,
    ),
  );
  if (!result.ok) {
    const message = sentence(result.error.message.replace(/^(email|password|display_name|region): /, ""));
    const field = fieldOf(result.error.message);
    return data(
      { values, fieldErrors: field ? { [field]: message } : {}, error: field ? null : message },
      { status: result.error.status },
    );
  }
  const { token, viewer } = result.value;
  return redirect(next, {
    headers: { "Set-Cookie": sessionCookie(token, viewer.expiresAt, secureCookies(request, context)) },
  });
}

export default function SignUp() {
  const { next } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const errors: Partial<Record<FieldName, string>> = result?.fieldErrors ?? {};
  return (
    <div className="auth-page">
      <h1>Create your account</h1>
      <p className="lede">Buy and rent films, keep them in your library, and make profiles for everyone at home.</p>
      <Form method="post" className="form-card">
        <CsrfField />
        <input type="hidden" name="next" value={next} />
        <FormMessage error={result?.error} />
        <Field
          label="Your name"
          name="display_name"
          autoComplete="name"
          maxLength={80}
          defaultValue={result?.values.display_name ?? ""}
          hint="Optional. It names your first profile."
          error={errors.display_name}
        />
        <Field
          label="E-mail"
          name="email"
          type="email"
          autoComplete="email"
          required
          maxLength={254}
          defaultValue={result?.values.email ?? ""}
          error={errors.email}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={PASSWORD_MIN}
          hint={`At least ${PASSWORD_MIN} characters. No other rules: a few words you will remember make a strong password.`}
          error={errors.password}
        />
        <SelectField
          label="Country or region"
          name="region"
          options={REGIONS}
          defaultValue={result?.values.region ?? "US"}
          hint="What is on sale depends on where you are."
          error={errors.region}
        />
        <button type="submit" className="button primary wide" disabled={busy}>
          {busy ? "Creating your account…" : "Create account"}
        </button>
      </Form>
      <p className="auth-switch">
        Already have an account?{" "}
        <Link to={next === "/" ? "/signin" : `/signin?next=${encodeURIComponent(next)}`}>Sign in</Link>
      </p>
    </div>
  );
}
