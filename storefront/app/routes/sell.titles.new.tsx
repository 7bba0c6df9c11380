import { type ActionFunctionArgs, data, type LoaderFunctionArgs, type MetaFunction, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useNavigation } from "@remix-run/react";
import { CsrfField } from "../components/csrf-field";
import { FormMessage } from "../components/form";
import { TitleFields } from "../components/seller-forms";
import { protectedForm } from "../lib/csrf.server";
import { attempt } from "../lib/errors.server";
import { sentence } from "../lib/format";
import { FormProblem, titleDraftOf } from "../lib/seller-forms.server";
import { requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "sell-title-new" };

export const meta: MetaFunction = () => [{ title: "Add a title — Marquee" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  if (!viewer.roles.includes("seller")) throw redirect("/sell");
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { form } = await protectedForm(request, context);
  const viewer = await requireViewer(request, context);
  const values = Object.fromEntries([...form.entries()].filter(([k]) => k !== "_csrf").map(([k, v]) => [k, String(v)]));
  let draft: ReturnType<typeof titleDraftOf>;
  try {
    draft = titleDraftOf(form);
  } catch (err) {
    if (err instanceof FormProblem) return data({ error: err.message, values }, { status: 400 });
    throw err;
  }
  const r = await attempt(() => context.services.commerce.selling.createTitle(viewer, draft));
  if (!r.ok) return data({ error: sentence(r.error.message), values }, { status: r.error.status });
  return redirect(`/sell/titles/${encodeURIComponent(r.value.title_id)}?created=1`);
}

export default function NewTitle() {
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const v = result?.values;
  return (
    <div className="page sell-page">
      <p className="eyebrow">
        <Link to="/sell">Seller dashboard</Link>
      </p>
      <h1>Add a title</h1>
      <p className="lede">Start with the film's details; you set prices on the next page, then submit it for review.</p>
      <Form method="post" className="form-card wide-form">
        <CsrfField />
        <FormMessage error={result?.error} />
        <TitleFields
          values={
            v
              ? {
                  title: v.title ?? "",
                  year: v.year ?? "",
                  runtime_min: v.runtime_min ?? "",
                  age_rating: v.age_rating ?? "PG",
                  director: v.director ?? "",
                  genres: v.genres ? [v.genres] : [],
                  cast: v.cast ? [v.cast] : [],
                  synopsis: v.synopsis ?? "",
                  regions: v.regions ? [v.regions] : [],
                  release_date: v.release_date ?? null,
                }
              : undefined
          }
        />
        <button type="submit" className="button primary" disabled={busy}>
          Save draft
        </button>
      </Form>
    </div>
  );
}
