import { sellerTitleView } from "@marquee/commerce/views";
import { ID_PATTERN } from "@marquee/contracts";
import { type ActionFunctionArgs, data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import {
  Form,
  Link,
  useActionData,
  useLoaderData,
  useNavigation,
  useRevalidator,
  useSearchParams,
} from "@remix-run/react";
import { useEffect } from "react";
import { CsrfField } from "../components/csrf-field";
import { FormMessage } from "../components/form";
import { MediaUploader } from "../components/media-uploader";
import { OffersEditor, TitleFields } from "../components/seller-forms";
import { protectedForm } from "../lib/csrf.server";
import { attempt, orRespond } from "../lib/errors.server";
import { formatDateTime, sentence } from "../lib/format";
import { FormProblem, offersOf, titleDraftOf } from "../lib/seller-forms.server";
import { requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "sell-title" };

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `${data.title.title} — Seller — Marquee` : "Title — Marquee" },
];

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  const id = params.id ?? "";
  if (!ID_PATTERN.test(id)) throw data("Title not found", { status: 404 });
  // Another seller's title is reported as missing.
  const t = await orRespond(() => context.services.commerce.selling.getTitle(viewer, id));
  const { offers, ...title } = sellerTitleView(t);
  const media = await context.services.uploads.status(viewer, id);
  return { title, offers, media, uploadEndpoint: context.services.uploads.endpoint };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { form } = await protectedForm(request, context);
  const viewer = await requireViewer(request, context);
  const id = params.id ?? "";
  if (!ID_PATTERN.test(id)) throw data("Title not found", { status: 404 });
  const { selling } = context.services.commerce;
  const intent = String(form.get("intent") ?? "");
  const fail = (error: string, status: number) => data({ intent, error, notice: null }, { status });
  try {
    if (intent === "details") {
      const draft = titleDraftOf(form);
      const r = await attempt(() => selling.updateTitle(viewer, id, draft));
      if (!r.ok) return fail(sentence(r.error.message), r.error.status);
      return {
        intent,
        error: null,
        notice: r.value.review
          ? "Changes saved and sent for review. Viewers see the approved version until an admin approves them."
          : "Details saved.",
      };
    }
    if (intent === "offers") {
      const offers = offersOf(form);
      const r = await attempt(() => selling.setOffers(viewer, id, offers));
      if (!r.ok) return fail(sentence(r.error.message), r.error.status);
      return { intent, error: null, notice: "Prices saved." };
    }
    if (intent === "submit") {
      const r = await attempt(() => selling.submitForReview(viewer, id));
      if (!r.ok) return fail(sentence(r.error.message), r.error.status);
      return { intent, error: null, notice: "Sent for review." };
    }
  } catch (err) {
    if (err instanceof FormProblem) return fail(err.message, 400);
    throw err;
  }
  return fail("Unknown action.", 400);
}

const FIELD_NAMES: Record<string, string> = {
  title: "title",
  year: "year",
  genres: "genres",
  runtime_min: "runtime",
  age_rating: "age rating",
  synopsis: "synopsis",
  cast: "cast",
  director: "director",
  regions: "regions",
  release_date: "release date",
};

function changedFields(changes: { field: string }[]): string {
  return changes.map((c) => FIELD_NAMES[c.field] ?? c.field).join(", ");
}

const STATUS: Record<string, string> = {
  draft: "Draft: not on sale until it is reviewed",
  in_review: "In review: it cannot be edited until it is decided",
  published: "Published: on sale now",
  withdrawn: "Withdrawn: off sale; edit and resubmit",
};

/** While a transcode runs, the page re-reads its status every few seconds (progress, ETA). */
function useWhileWorking(working: boolean) {
  const revalidator = useRevalidator();
  useEffect(() => {
    if (!working) return;
    const timer = setInterval(() => {
      if (revalidator.state === "idle" && document.visibilityState === "visible") revalidator.revalidate();
    }, 3000);
    return () => clearInterval(timer);
  }, [working, revalidator]);
}

export default function SellerTitle() {
  const { title: t, offers, media, uploadEndpoint } = useLoaderData<typeof loader>();
  const statusOf = (kind: (typeof media.items)[number]["kind"]) => media.items.find((i) => i.kind === kind);
  useWhileWorking(
    media.items.some((i) => i.status === "queued" || i.status === "transcoding" || i.status === "uploaded"),
  );
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const [params] = useSearchParams();
  const locked = t.status === "in_review";
  const messageFor = (intent: string) =>
    result && result.intent === intent ? <FormMessage error={result.error} notice={result.notice} /> : null;
  return (
    <div className="page sell-page">
      <p className="eyebrow">
        <Link to="/sell">Seller dashboard</Link>
      </p>
      <h1>{t.title}</h1>
      <p className={`status status-${t.status}`}>{STATUS[t.status] ?? t.status}</p>
      {t.review_note ? <p className="form-message notice">Reviewer's note: {t.review_note}</p> : null}
      {t.revision?.status === "pending" ? (
        <div className="form-message notice" role="status">
          <p>
            <strong>Changes waiting for review</strong> (sent {formatDateTime(t.revision.submitted_at)}):{" "}
            {changedFields(t.revision.changes)}. Viewers see the approved version until an admin approves them; saving
            again replaces them.
          </p>
        </div>
      ) : t.revision?.status === "sent_back" ? (
        <div className="form-message notice" role="status">
          <p>
            <strong>Your changes were sent back</strong> ({changedFields(t.revision.changes)}); the approved version
            stays on sale.
            {t.revision.review_note ? ` Reviewer's note: ${t.revision.review_note}` : ""}
          </p>
        </div>
      ) : null}
      {params.get("created") === "1" && !result ? (
        <p className="form-message notice" role="status">
          Draft saved. Now set its prices, then submit it for review.
        </p>
      ) : null}

      <section aria-labelledby="offers-edit-heading" className="form-card wide-form">
        <h2 id="offers-edit-heading">Prices and rentals</h2>
        <Form method="post">
          <CsrfField />
          <input type="hidden" name="intent" value="offers" />
          {messageFor("offers")}
          <fieldset disabled={locked} className="plain">
            <OffersEditor offers={offers} />
          </fieldset>
          <button type="submit" className="button primary" disabled={busy || locked}>
            Save prices
          </button>
        </Form>
      </section>

      <section aria-labelledby="media-heading" className="form-card wide-form">
        <h2 id="media-heading">Film, trailer and artwork</h2>
        <p className="field-hint">
          Upload the film in the best quality you have (it is transcoded to every size viewers need); uploads resume if
          the connection drops. The title can be submitted for review once its film is ready.
        </p>
        {(["film", "trailer", "poster", "captions"] as const).map((kind) => (
          <MediaUploader key={kind} titleId={t.id} kind={kind} status={statusOf(kind)} endpoint={uploadEndpoint} />
        ))}
      </section>

      {t.status === "draft" || t.status === "withdrawn" ? (
        <section className="form-card" aria-labelledby="submit-heading">
          <h2 id="submit-heading">Ready?</h2>
          <p>
            {media.film_ready
              ? "Submit it for review; an admin checks it before it goes on sale."
              : "Upload the film first: a title can be submitted once its film is ready to play."}
          </p>
          <Form method="post">
            <CsrfField />
            <input type="hidden" name="intent" value="submit" />
            {messageFor("submit")}
            <button type="submit" className="button primary" disabled={busy || !media.film_ready}>
              Submit for review
            </button>
          </Form>
        </section>
      ) : (
        messageFor("submit")
      )}

      <section aria-labelledby="details-heading" className="form-card wide-form">
        <h2 id="details-heading">Details</h2>
        <Form method="post">
          <CsrfField />
          <input type="hidden" name="intent" value="details" />
          {messageFor("details")}
          {t.status === "published" ? (
            <p className="field-hint">
              Changes to a published title are reviewed before viewers see them; prices above change at once.
            </p>
          ) : null}
          <fieldset disabled={locked} className="plain">
            {/* The seller's own edit, while it waits (or was sent back), so they carry on from it. */}
            <TitleFields values={t.revision ? { ...t, ...t.revision.draft } : t} />
          </fieldset>
          <button type="submit" className="button primary" disabled={busy || locked}>
            Save details
          </button>
        </Form>
      </section>
    </div>
  );
}
