import { ID_PATTERN } from "@marquee/contracts";
import { type ActionFunctionArgs, data, type LoaderFunctionArgs, type MetaFunction, redirect } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { useState } from "react";
import { CsrfField } from "../components/csrf-field";
import { Field, FormMessage, SelectField } from "../components/form";
import { protectedForm } from "../lib/csrf.server";
import { attempt } from "../lib/errors.server";
import { sentence } from "../lib/format";
import { AGE_RATINGS } from "../lib/ratings";
import { requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "profiles" };

export const meta: MetaFunction = () => [{ title: "Profiles — Marquee" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  const profiles = await context.services.commerce.accounts.listProfiles(viewer.userId);
  return {
    profiles,
    current: viewer.profile,
    // A kids' profile cannot make profiles (a child cannot lift their own limit).
    canManage: viewer.profile.kind !== "kids",
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { form } = await protectedForm(request, context);
  const viewer = await requireViewer(request, context);
  const { accounts } = context.services.commerce;
  const intent = form.get("intent");
  if (intent === "switch") {
    const id = String(form.get("profile_id") ?? "");
    if (!ID_PATTERN.test(id)) throw data("Unknown profile", { status: 400 });
    const pin = String(form.get("pin") ?? "");
    const r = await attempt(() => accounts.selectProfile(viewer, id, pin || undefined));
    if (!r.ok)
      return data({ form: "switch" as const, for: id, error: sentence(r.error.message) }, { status: r.error.status });
    // Rows, titles and prices all depend on the profile: start again from home.
    return redirect("/");
  }
  if (intent === "create") {
    const kind = form.get("kind") === "kids" ? "kids" : "standard";
    const name = String(form.get("name") ?? "");
    const rating = String(form.get("max_age_rating") ?? "");
    const pin = String(form.get("pin") ?? "");
    const r = await attempt(() =>
      accounts.createProfile(viewer, {
        name,
        kind,
        ...(kind === "kids" && rating ? { max_age_rating: rating as (typeof AGE_RATINGS)[number] } : {}),
        ...(pin ? { pin } : {}),
      }),
    );
    if (!r.ok)
      return data(
        { form: "create" as const, for: null, error: sentence(r.error.message), values: { name, kind, rating } },
        { status: r.error.status },
      );
    return { form: "create" as const, for: null, notice: `Profile “${r.value.name}” created.` };
  }
  throw data("Unknown action", { status: 400 });
}

const RATINGS = AGE_RATINGS.map((r) => [r, `Up to ${r}`] as const);

export default function ProfilesPage() {
  const { profiles, current, canManage } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const failedCreate = result && result.form === "create" && "error" in result ? result : null;
  const [kind, setKind] = useState<string>(failedCreate?.values.kind ?? "standard");
  return (
    <div className="page profiles-page">
      <h1>Who's watching?</h1>
      <ul className="profile-grid">
        {profiles.map((p) => {
          const isCurrent = p.id === current.id;
          // Leaving a kids' profile for an unrestricted one needs a PIN.
          const needsPin = current.kind === "kids" && p.kind !== "kids";
          const error =
            result && result.form === "switch" && result.for === p.id && "error" in result ? result.error : null;
          return (
            <li key={p.id} className={`profile-card${isCurrent ? " current" : ""}`}>
              <span className="avatar large" aria-hidden="true">
                {p.name.slice(0, 1).toUpperCase()}
              </span>
              <h2 className="profile-name">{p.name}</h2>
              <p className="muted">
                {p.kind === "kids" ? `Kids · up to ${p.max_age_rating ?? "G"}` : "Standard"}
                {p.has_pin ? " · PIN set" : ""}
              </p>
              {isCurrent ? (
                <p className="owned-tag">Watching now</p>
              ) : (
                <Form method="post" className="profile-switch">
                  <CsrfField />
                  <input type="hidden" name="intent" value="switch" />
                  <input type="hidden" name="profile_id" value={p.id} />
                  {needsPin ? (
                    <Field
                      label="PIN"
                      name="pin"
                      type="password"
                      inputMode="numeric"
                      pattern="[0-9]{4,6}"
                      autoComplete="off"
                      required
                      error={error}
                      hint="Ask a grown-up for the PIN."
                    />
                  ) : (
                    <FormMessage error={error} />
                  )}
                  <button type="submit" className="button secondary small" disabled={busy}>
                    Switch to {p.name}
                  </button>
                </Form>
              )}
            </li>
          );
        })}
      </ul>

      {canManage ? (
        <section className="form-card" aria-labelledby="new-profile-heading">
          <h2 id="new-profile-heading">Add a profile</h2>
          <Form method="post">
            <CsrfField />
            <input type="hidden" name="intent" value="create" />
            <FormMessage error={failedCreate?.error} notice={result && "notice" in result ? result.notice : null} />
            <Field label="Name" name="name" required maxLength={40} defaultValue={failedCreate?.values.name ?? ""} />
            <fieldset className="choice">
              <legend>Kind of profile</legend>
              <label>
                <input
                  type="radio"
                  name="kind"
                  value="standard"
                  checked={kind === "standard"}
                  onChange={() => setKind("standard")}
                />{" "}
                Standard
              </label>
              <label>
                <input
                  type="radio"
                  name="kind"
                  value="kids"
                  checked={kind === "kids"}
                  onChange={() => setKind("kids")}
                />{" "}
                Kids: only films up to an age rating, and a PIN to buy or to leave the profile
              </label>
            </fieldset>
            <SelectField
              label="Age limit (kids' profiles)"
              name="max_age_rating"
              options={RATINGS}
              defaultValue={failedCreate?.values.rating || "PG"}
              hint="Films rated above this are never shown to the profile: not in rows, search or links."
            />
            <Field
              label="PIN"
              name="pin"
              type="password"
              inputMode="numeric"
              pattern="[0-9]{4,6}"
              autoComplete="new-password"
              required={kind === "kids"}
              hint="4 to 6 digits. Required for a kids' profile; on any profile it is asked before every purchase."
            />
            <button type="submit" className="button primary" disabled={busy}>
              Add profile
            </button>
          </Form>
        </section>
      ) : null}
    </div>
  );
}
