import { ID_PATTERN } from "@marquee/contracts";
import {
  type ActionFunctionArgs,
  data,
  type LoaderFunctionArgs,
  type MetaFunction,
  redirect,
  redirectDocument,
} from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { CsrfField } from "../components/csrf-field";
import { Field, FormMessage, SelectField } from "../components/form";
import { protectedForm } from "../lib/csrf.server";
import { attempt, publicBase } from "../lib/errors.server";
import { formatBps, formatDate, formatDateTime, formatPrice, sentence } from "../lib/format";
import { FormProblem, promoOf } from "../lib/seller-forms.server";
import { requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "sell" };

export const meta: MetaFunction = () => [{ title: "Sell on Marquee" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  if (viewer.profile.kind === "kids") throw data("A kids' profile cannot sell. Switch profile first.", { status: 403 });
  const { selling } = context.services.commerce;
  // The fee is commerce's: the configured platform rate, or this seller's own once they are one.
  const { fee_bps: feeBps } = await selling.feeTerms(viewer);
  if (!viewer.roles.includes("seller")) return { seller: null, suggestedName: viewer.displayName, feeBps };
  const soft = <T,>(p: Promise<T>, fallback: T) =>
    p.catch((err: unknown) => {
      // The payment provider can be down; the dashboard still shows sales and titles.
      context.services.log.warn({ err }, "seller dashboard: payment provider unavailable");
      return fallback;
    });
  const [titles, report, promos, account, payouts] = await Promise.all([
    selling.listTitles(viewer),
    selling.salesReport(viewer),
    selling.listPromos(viewer),
    soft(selling.refreshAccount(viewer), null),
    soft(selling.payouts(viewer), []),
  ]);
  return {
    seller: {
      titles: titles.map((t) => ({ ...t, updated_at: new Date(t.updated_at).toISOString() })),
      report,
      promos: promos.map((p) => ({
        id: p.id,
        code: p.code,
        discount:
          p.percentOff !== null ? `${p.percentOff} % off` : `${formatPrice(p.amountOffMinor ?? 0, p.currency)} off`,
        applies_to: p.appliesTo,
        title_id: p.titleId,
        used: p.redemptions,
        max: p.maxRedemptions,
        starts_at: p.startsAt ? new Date(p.startsAt).toISOString() : null,
        ends_at: p.endsAt ? new Date(p.endsAt).toISOString() : null,
      })),
      account,
      payouts,
    },
    suggestedName: viewer.displayName,
    feeBps,
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { form } = await protectedForm(request, context);
  const viewer = await requireViewer(request, context);
  const { selling } = context.services.commerce;
  const intent = String(form.get("intent") ?? "");
  const fail = (error: string, status: number) => data({ intent, error, notice: null }, { status });
  if (intent === "become") {
    const r = await attempt(() => selling.becomeSeller(viewer, String(form.get("display_name") ?? "")));
    if (!r.ok) return fail(sentence(r.error.message), r.error.status);
    return redirect("/sell");
  }
  if (intent === "onboard") {
    const base = publicBase(request, context.services.publicUrl);
    const r = await attempt(() =>
      selling.onboardingLink(viewer, { refreshUrl: `${base}/sell`, returnUrl: `${base}/sell?onboarded=1` }),
    );
    if (!r.ok) return fail(sentence(r.error.message), r.error.status);
    return redirectDocument(r.value.url, 303);
  }
  if (intent === "submit") {
    const id = String(form.get("title_id") ?? "");
    if (!ID_PATTERN.test(id)) return fail("Unknown title.", 400);
    const r = await attempt(() => selling.submitForReview(viewer, id));
    if (!r.ok) return fail(sentence(r.error.message), r.error.status);
    return { intent, error: null, notice: "Sent for review. We'll let you know when it is decided." };
  }
  if (intent === "promo") {
    let input: ReturnType<typeof promoOf>;
    try {
      input = promoOf(form);
    } catch (err) {
      if (err instanceof FormProblem) return fail(err.message, 400);
      throw err;
    }
    const r = await attempt(() => selling.createPromo(viewer, input));
    if (!r.ok) return fail(sentence(r.error.message), r.error.status);
    return { intent, error: null, notice: `Promo code ${r.value.code} created.` };
  }
  return fail("Unknown action.", 400);
}

const STATUS: Record<string, string> = {
  draft: "Draft",
  in_review: "In review",
  published: "Published",
  withdrawn: "Withdrawn",
};

function BecomeSeller({ suggestedName, feeBps }: { suggestedName: string; feeBps: number }) {
  const result = useActionData<typeof action>();
  return (
    <div className="page sell-page">
      <h1>Sell your films on Marquee</h1>
      <p className="lede">
        List your films, set buy and rent prices, run sales and promo codes, and get paid through Stripe. Marquee keeps
        a {formatBps(feeBps)} platform fee on each sale; you see every sale, fee and refund.
      </p>
      <Form method="post" className="form-card">
        <CsrfField />
        <input type="hidden" name="intent" value="become" />
        <FormMessage error={result?.error} />
        <Field
          label="Seller name"
          name="display_name"
          required
          maxLength={80}
          defaultValue={suggestedName}
          hint="Shown to viewers as who sells the film."
        />
        <button type="submit" className="button primary">
          Become a seller
        </button>
      </Form>
    </div>
  );
}

export default function SellPage() {
  const { seller, suggestedName, feeBps } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  if (!seller) return <BecomeSeller suggestedName={suggestedName} feeBps={feeBps} />;
  const { report, titles, promos, account, payouts } = seller;
  const money = (n: number) => formatPrice(n, report.currency);
  return (
    <div className="page sell-page">
      <div className="page-head">
        <h1>Seller dashboard</h1>
        <Link to="/sell/titles/new" className="button primary">
          Add a title
        </Link>
      </div>
      <FormMessage error={result?.error} notice={result?.notice} />

      <section aria-labelledby="sales-heading">
        <h2 id="sales-heading" className="section-heading">
          Sales
        </h2>
        <dl className="stat-grid">
          <div>
            <dt>Gross</dt>
            <dd>{money(report.gross_minor)}</dd>
          </div>
          <div>
            <dt>Platform fee ({formatBps(feeBps)})</dt>
            <dd>{money(report.fee_minor)}</dd>
          </div>
          <div>
            <dt>Refunds</dt>
            <dd>{money(report.refunds_minor)}</dd>
          </div>
          <div>
            <dt>Net to you</dt>
            <dd>{money(report.net_minor)}</dd>
          </div>
          <div>
            <dt>Sales</dt>
            <dd>{report.sales}</dd>
          </div>
        </dl>
        {report.by_title.length > 0 ? (
          <table className="data-table">
            <caption>By title</caption>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col" className="num">
                  Sales
                </th>
                <th scope="col" className="num">
                  Gross
                </th>
                <th scope="col" className="num">
                  Net
                </th>
              </tr>
            </thead>
            <tbody>
              {report.by_title.map((t) => (
                <tr key={t.title_id}>
                  <td>{t.title}</td>
                  <td className="num">{t.sales}</td>
                  <td className="num">{money(t.gross_minor)}</td>
                  <td className="num">{money(t.net_minor)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No sales yet.</p>
        )}
      </section>

      <section aria-labelledby="titles-heading">
        <h2 id="titles-heading" className="section-heading">
          Your titles
        </h2>
        {titles.length === 0 ? (
          <p className="muted">
            No titles yet. <Link to="/sell/titles/new">Add your first film</Link>.
          </p>
        ) : (
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Status</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {titles.map((t) => (
                <tr key={t.id}>
                  <td>
                    <Link to={`/sell/titles/${encodeURIComponent(t.id)}`}>{t.title}</Link> ({t.year}) · {t.age_rating}
                  </td>
                  <td>
                    <span className={`status status-${t.status}`}>{STATUS[t.status] ?? t.status}</span>
                    {t.review_note ? <p className="field-hint">Reviewer: {t.review_note}</p> : null}
                  </td>
                  <td>{formatDate(t.updated_at)}</td>
                  <td>
                    {t.status === "draft" || t.status === "withdrawn" ? (
                      <Form method="post">
                        <CsrfField />
                        <input type="hidden" name="intent" value="submit" />
                        <input type="hidden" name="title_id" value={t.id} />
                        <button type="submit" className="button secondary small" disabled={busy}>
                          Submit for review<span className="visually-hidden"> {t.title}</span>
                        </button>
                      </Form>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="payments-heading">
        <h2 id="payments-heading" className="section-heading">
          Getting paid
        </h2>
        {account?.charges_enabled ? (
          <p>Your Stripe account is connected: sales are paid to it, less the {formatBps(feeBps)} platform fee.</p>
        ) : (
          <p>Connect a Stripe account to be paid for your sales.</p>
        )}
        <Form method="post">
          <CsrfField />
          <input type="hidden" name="intent" value="onboard" />
          <button type="submit" className="button secondary" disabled={busy}>
            {account?.onboarded ? "Manage your Stripe account" : "Set up payouts with Stripe"}
          </button>
        </Form>
        {payouts.length > 0 ? (
          <table className="data-table">
            <caption>Payouts</caption>
            <thead>
              <tr>
                <th scope="col">Arrives</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Amount
                </th>
              </tr>
            </thead>
            <tbody>
              {payouts.map((p) => (
                <tr key={p.id}>
                  <td>{formatDate(p.arrival_date)}</td>
                  <td>{p.status}</td>
                  <td className="num">{formatPrice(p.amount_minor, p.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No payouts yet.</p>
        )}
      </section>

      <section aria-labelledby="promos-heading">
        <h2 id="promos-heading" className="section-heading">
          Promo codes
        </h2>
        {promos.length > 0 ? (
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Discount</th>
                <th scope="col">On</th>
                <th scope="col">Used</th>
                <th scope="col">Valid</th>
              </tr>
            </thead>
            <tbody>
              {promos.map((p) => (
                <tr key={p.id}>
                  <td>
                    <code>{p.code}</code>
                  </td>
                  <td>{p.discount}</td>
                  <td>
                    {p.applies_to === "both" ? "buy and rent" : p.applies_to}
                    {p.title_id
                      ? ` · ${titles.find((t) => t.id === p.title_id)?.title ?? p.title_id}`
                      : " · all titles"}
                  </td>
                  <td>
                    {p.used}
                    {p.max !== null ? ` of ${p.max}` : ""}
                  </td>
                  <td>
                    {p.starts_at ? `from ${formatDateTime(p.starts_at)} ` : ""}
                    {p.ends_at ? `until ${formatDateTime(p.ends_at)}` : p.starts_at ? "" : "always"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <Form method="post" className="form-card inline-form">
          <CsrfField />
          <input type="hidden" name="intent" value="promo" />
          <h3>New promo code</h3>
          <Field
            label="Code"
            name="code"
            required
            pattern="[A-Za-z0-9_\-]{3,40}"
            hint="3 to 40 letters, digits, - or _."
          />
          <SelectField
            label="Kind of discount"
            name="discount_kind"
            options={[
              ["percent", "Percent off"],
              ["amount", "Amount off"],
            ]}
          />
          <Field
            label="Discount"
            name="discount"
            required
            inputMode="decimal"
            hint="A percentage (20) or an amount (2.50)."
          />
          <SelectField
            label="Applies to"
            name="applies_to"
            options={[
              ["both", "Buying and renting"],
              ["buy", "Buying only"],
              ["rent", "Renting only"],
            ]}
          />
          <SelectField
            label="Title"
            name="title_id"
            options={[["", "All your titles"], ...titles.map((t) => [t.id, t.title] as const)]}
          />
          <Field
            label="Usage limit"
            name="max_redemptions"
            inputMode="numeric"
            hint="Optional: how many times it can be used."
          />
          <Field label="Starts (UTC)" name="starts_at" type="datetime-local" />
          <Field label="Ends (UTC)" name="ends_at" type="datetime-local" />
          <button type="submit" className="button primary" disabled={busy}>
            Create promo code
          </button>
        </Form>
      </section>
    </div>
  );
}
