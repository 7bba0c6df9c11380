/**
 * The local test checkout: embedded mode's stand-in for Stripe's hosted payment page. One
 * self-contained HTML page (no scripts, no external assets) whose buttons post forms.
 */

import type { LocalCheckoutSessionView } from "../payments/gateway.ts";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escape text for HTML element content and double- or single-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Minor units as money, e.g. 1499 USD → "$14.99" (zero-decimal currencies handled by Intl). */
export function formatMoney(minor: number, currency: string): string {
  try {
    const fmt = new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() });
    const digits = fmt.resolvedOptions().maximumFractionDigits ?? 2;
    return fmt.format(minor / 10 ** digits);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

/**
 * Headers for these pages: no scripts at all, forms may post only here (and be redirected to
 * the store), and no framing, so the Pay button cannot be overlaid by another site.
 */
export function pageHeaders(formTargets: string[]): Record<string, string> {
  const targets = [...new Set(["'self'", ...formTargets])].join(" ");
  return {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; form-action ${targets}; frame-ancestors 'none'; base-uri 'none'`,
    "x-frame-options": "DENY",
    // Not no-referrer: with it Chrome sends `Origin: null` on the Pay form's POST, which the
    // cross-site check must refuse. same-origin tells nobody else where the viewer came from.
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
  };
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f4f6; color: #1b1b1f; }
  .banner { background: #b3261e; color: #fff; text-align: center; padding: .75rem 1rem; font-weight: 700; letter-spacing: .02em; }
  main { max-width: 32rem; margin: 2rem auto; background: #fff; border-radius: 12px; padding: 1.5rem 2rem; box-shadow: 0 1px 4px #0002; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  table { width: 100%; border-collapse: collapse; }
  td { padding: .4rem 0; border-bottom: 1px solid #e5e5ea; vertical-align: top; }
  td.amount { text-align: right; white-space: nowrap; padding-left: 1rem; }
  tr.total td { font-weight: 700; border-bottom: 0; padding-top: .8rem; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  .actions form { flex: 1; }
  button { width: 100%; font: inherit; padding: .7rem 1rem; border-radius: 8px; border: 1px solid #888; background: #fff; cursor: pointer; }
  button.pay { background: #1b5e20; border-color: #1b5e20; color: #fff; font-weight: 700; }
  .note { color: #555; font-size: .9rem; margin-top: 1rem; }
  a { color: #0b57d0; }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<div class="banner" role="alert">TEST MODE — no real money is charged</div>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The payment page of one local checkout session. */
export function renderLocalCheckoutPage(session: LocalCheckoutSessionView): string {
  const id = encodeURIComponent(session.id);
  const rows = session.lineItems
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.name)}</td><td class="amount">${escapeHtml(formatMoney(l.amount, session.currency))}</td></tr>`,
    )
    .join("\n");
  const total = `<tr class="total"><td>Total</td><td class="amount">${escapeHtml(formatMoney(session.amountTotal, session.currency))}</td></tr>`;
  let actions: string;
  if (session.status === "open") {
    actions = `<div class="actions">
<form method="post" action="/checkout/local/${id}/cancel"><button type="submit">Cancel</button></form>
<form method="post" action="/checkout/local/${id}/pay"><button type="submit" class="pay">Pay ${escapeHtml(formatMoney(session.amountTotal, session.currency))}</button></form>
</div>
<p class="note">This is Marquee's local test checkout, standing in for Stripe's payment page because no Stripe keys are configured. Paying here sends a signed, Stripe-shaped event through the store's real webhook handler.</p>`;
  } else if (session.status === "complete") {
    actions = `<p>This checkout is already paid.</p><p><a href="${escapeHtml(session.successUrl)}">Continue to your order</a></p>`;
  } else {
    actions = `<p>This checkout has expired; nothing was charged.</p><p><a href="${escapeHtml(session.cancelUrl)}">Back to the store</a></p>`;
  }
  return layout(
    "Marquee test checkout",
    `<h1>Marquee — test checkout</h1>
<table>
${rows}
${total}
</table>
${actions}`,
  );
}

/** A short message page (unknown session, expired, …) in the same frame. */
export function renderMessagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}
