import { ID_PATTERN } from "@marquee/contracts";
import { type ActionFunctionArgs, data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { CsrfField } from "../components/csrf-field";
import { Field, FormMessage } from "../components/form";
import { protectedForm } from "../lib/csrf.server";
import { attempt, orRespond } from "../lib/errors.server";
import { formatDateTime, sentence } from "../lib/format";
import { requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "admin-review" };

export const meta: MetaFunction = () => [{ title: "Review queue — Marquee admin" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  // Commerce checks the admin role (a 403 for anyone else).
  const queue = await orRespond(() => context.services.commerce.selling.reviewQueue(viewer));
  return {
    queue: queue.map((q) => ({ ...q, submitted_at: q.submitted_at ? new Date(q.submitted_at).toISOString() : null })),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { form } = await protectedForm(request, context);
  const viewer = await requireViewer(request, context);
  const { selling } = context.services.commerce;
  const intent = String(form.get("intent") ?? "");
  const id = String(form.get("title_id") ?? "").trim();
  const note = String(form.get("note") ?? "");
  // A published title's edit: the reviewer decides on the revision they saw, not a newer one.
  const revisionId = String(form.get("revision_id") ?? "").trim();
  const revision = ID_PATTERN.test(revisionId) ? revisionId : undefined;
  if (!ID_PATTERN.test(id)) return data({ for: id, error: "Give a title id.", notice: null }, { status: 400 });
  const run: (() => Promise<unknown>) | null =
    intent === "approve"
      ? () => selling.approve(viewer, id, revision)
      : intent === "reject"
        ? () => selling.reject(viewer, id, note, revision)
        : intent === "withdraw"
          ? () => selling.withdraw(viewer, id, note)
          : null;
  if (!run) throw data("Unknown action", { status: 400 });
  const r = await attempt(run);
  if (!r.ok) return data({ for: id, error: sentence(r.error.message), notice: null }, { status: r.error.status });
  const done = revision
    ? { approve: "Changes published", reject: "Changes sent back; the approved version stays on sale" }[
        intent as "approve" | "reject"
      ]
    : { approve: "Published", reject: "Sent back to the seller", withdraw: "Withdrawn from sale" }[intent];
  return { for: id, error: null, notice: `${done}: ${id}.` };
}

const FIELD_NAMES: Record<string, string> = {
  title: "Title",
  year: "Year",
  genres: "Genres",
  runtime_min: "Runtime (min)",
  age_rating: "Age rating",
  synopsis: "Synopsis",
  cast: "Cast",
  director: "Director",
  regions: "Regions",
  release_date: "Release date",
};

/** A metadata value as a reviewer reads it: lists joined, nothing as a dash. */
function shown(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.length === 0 ? "—" : value.join(", ");
  return String(value);
}

export default function ReviewQueue() {
  const { queue } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const listed = new Set(queue.map((q) => q.id));
  return (
    <div className="page admin-page">
      <h1>Review queue</h1>
      {result && !listed.has(result.for) ? <FormMessage error={result.error} notice={result.notice} /> : null}
      {queue.length === 0 ? <p className="lede">Nothing is waiting for review.</p> : null}
      <ul className="review-list">
        {queue.map((q) => (
          <li key={q.id} className="review-item">
            <h2 className="library-title">
              {q.title} <span className="badge">{q.age_rating}</span>
              {q.kind === "revision" ? <span className="badge">Changes to a published title</span> : null}
            </h2>
            <p className="muted">
              {q.seller} · {q.id}
              {q.submitted_at ? ` · submitted ${formatDateTime(q.submitted_at)}` : ""}
            </p>
            {q.kind === "revision" ? (
              <>
                <p className="field-hint">
                  On sale as approved until you decide. Approving publishes these changes; sending them back keeps the
                  approved version.
                </p>
                <table className="revision-changes">
                  <caption className="visually-hidden">What the seller changed in {q.title}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">Approved</th>
                      <th scope="col">Proposed</th>
                    </tr>
                  </thead>
                  <tbody>
                    {q.changes.map((c) => (
                      <tr key={c.field}>
                        <th scope="row">{FIELD_NAMES[c.field] ?? c.field}</th>
                        <td>{shown(c.from)}</td>
                        <td>
                          <ins>{shown(c.to)}</ins>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            ) : null}
            {result && result.for === q.id ? <FormMessage error={result.error} notice={result.notice} /> : null}
            <div className="review-actions">
              <Form method="post">
                <CsrfField />
                <input type="hidden" name="intent" value="approve" />
                <input type="hidden" name="title_id" value={q.id} />
                {q.revision_id ? <input type="hidden" name="revision_id" value={q.revision_id} /> : null}
                <button type="submit" className="button primary small" disabled={busy}>
                  Approve<span className="visually-hidden"> {q.title}</span>
                </button>
              </Form>
              <Form method="post" className="reject-form">
                <CsrfField />
                <input type="hidden" name="intent" value="reject" />
                <input type="hidden" name="title_id" value={q.id} />
                {q.revision_id ? <input type="hidden" name="revision_id" value={q.revision_id} /> : null}
                <Field label="What must change" name="note" required maxLength={1000} id={`note-${q.id}`} />
                <button type="submit" className="button secondary small" disabled={busy}>
                  Send back<span className="visually-hidden"> {q.title}</span>
                </button>
              </Form>
            </div>
          </li>
        ))}
      </ul>

      <section className="form-card" aria-labelledby="withdraw-heading">
        <h2 id="withdraw-heading">Withdraw a published title</h2>
        <p className="muted">It goes off sale at once. People who bought or rented it keep what they paid for.</p>
        <Form method="post">
          <CsrfField />
          <input type="hidden" name="intent" value="withdraw" />
          <Field label="Title id" name="title_id" required pattern="[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}" />
          <Field label="Reason" name="note" maxLength={1000} hint="Shown to the seller." />
          <button type="submit" className="button secondary" disabled={busy}>
            Withdraw
          </button>
        </Form>
      </section>
    </div>
  );
}
