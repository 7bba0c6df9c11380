const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string): Intl.NumberFormat {
  let f = formatters.get(currency);
  if (!f) {
    f = new Intl.NumberFormat("en-US", { style: "currency", currency });
    formatters.set(currency, f);
  }
  return f;
}

/** Minor units to a price string: 399 USD → "$3.99", 500 JPY → "¥500". */
export function formatPrice(minor: number, currency: string): string {
  const f = formatter(currency);
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(minor / 10 ** digits);
}

/** 128 → "2h 8m"; 45 → "45m". */
export function formatRuntime(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h === 0) return `${m}m`;
  return m === 0 ? `${h}h` : `${h}h ${m}m`;
}

// Dates are rendered on the server and hydrated in the browser: one fixed time zone (UTC) keeps
// both renders identical, and the text says which zone it is.
const dateFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  timeZone: "UTC",
});
const dateTimeFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  timeZone: "UTC",
});

/** "2026-03-12T14:05:00Z" → "12 Mar 2026". */
export function formatDate(iso: string | Date): string {
  return dateFormat.format(new Date(iso));
}

/** "2026-03-12T14:05:00Z" → "12 Mar 2026, 14:05 UTC". */
export function formatDateTime(iso: string | Date): string {
  return `${dateTimeFormat.format(new Date(iso))} UTC`;
}

/** 30 → "30 days"; 1 → "1 day". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The rental terms as shown before paying: "30 days to start, 48 hours to finish once started". */
export function rentalTerms(startDays: number | null | undefined, watchHours: number | null | undefined): string {
  return `${plural(startDays ?? 30, "day")} to start, ${plural(watchHours ?? 48, "hour")} to finish once started`;
}

/** Commerce's messages are lower-case clauses ("password must be …"): shown as sentences. */
export function sentence(message: string): string {
  const s = message.trim();
  if (!s) return s;
  const first = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** Basis points as a percentage, as the store writes them: 1500 → "15 %", 1250 → "12.5 %". */
export function formatBps(bps: number): string {
  return `${Number((bps / 100).toFixed(2))} %`;
}
