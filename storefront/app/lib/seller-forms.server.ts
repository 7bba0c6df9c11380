import type { OfferInput, PromoInput, TitleDraft } from "@marquee/commerce";

/**
 * Reading the seller's forms into commerce's inputs. Commerce validates everything again (these
 * only turn form strings into numbers, lists and instants); a value that cannot even be read
 * becomes a message naming the field.
 */
export class FormProblem extends Error {}

export const OFFER_SLOTS = [
  ["rent", "SD"],
  ["rent", "HD"],
  ["rent", "4K"],
  ["buy", "SD"],
  ["buy", "HD"],
  ["buy", "4K"],
] as const;

const text = (form: FormData, name: string) => String(form.get(name) ?? "").trim();

const list = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function int(form: FormData, name: string, label: string): number {
  const v = text(form, name);
  if (!/^\d+$/.test(v)) throw new FormProblem(`${label} must be a whole number.`);
  return Number(v);
}

/** "3.99" → 399 (currencies with cents); empty → null. */
export function parseMoney(value: string, label: string): number | null {
  const v = value.trim();
  if (v === "") return null;
  if (!/^\d{1,6}(\.\d{1,2})?$/.test(v)) throw new FormProblem(`${label} must be an amount such as 3.99.`);
  const [whole = "0", cents = ""] = v.split(".");
  return Number(whole) * 100 + Number(cents.padEnd(2, "0"));
}

/** A `datetime-local` value, read as UTC (the form says so); empty → null. */
export function parseUtc(value: string, label: string): string | null {
  const v = value.trim();
  if (v === "") return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) throw new FormProblem(`${label} must be a date and time.`);
  const d = new Date(`${v.length === 16 ? `${v}:00` : v}Z`);
  if (Number.isNaN(d.getTime())) throw new FormProblem(`${label} must be a date and time.`);
  return d.toISOString();
}

export function titleDraftOf(form: FormData): TitleDraft {
  const release = text(form, "release_date");
  return {
    title: text(form, "title"),
    year: int(form, "year", "Year"),
    genres: list(text(form, "genres")),
    runtime_min: int(form, "runtime_min", "Running time"),
    age_rating: text(form, "age_rating") as TitleDraft["age_rating"],
    synopsis: String(form.get("synopsis") ?? ""),
    cast: list(text(form, "cast")),
    director: text(form, "director"),
    regions: list(text(form, "regions").toUpperCase()),
    release_date: release || null,
  };
}

/** The offers editor: one row per kind × quality, each on when its "sell" box is ticked. */
export function offersOf(form: FormData): OfferInput[] {
  const currency = text(form, "currency") || "USD";
  return OFFER_SLOTS.flatMap(([kind, quality]) => {
    const key = `${kind}_${quality}`;
    if (form.get(`${key}_on`) !== "on") return [];
    const label = `${kind === "buy" ? "Buy" : "Rent"} ${quality}`;
    const price = parseMoney(text(form, `${key}_price`), `${label} price`);
    if (price === null) throw new FormProblem(`${label}: give a price, or untick it.`);
    const sale = parseMoney(text(form, `${key}_sale_price`), `${label} sale price`);
    const offer: OfferInput = {
      kind,
      quality,
      price_minor: price,
      currency,
      sale_price_minor: sale,
      sale_starts_at: sale === null ? null : parseUtc(text(form, `${key}_sale_starts`), `${label} sale start`),
      sale_ends_at: sale === null ? null : parseUtc(text(form, `${key}_sale_ends`), `${label} sale end`),
    };
    if (kind === "rent") {
      offer.rent_start_window_days = int(form, `${key}_start_days`, `${label} days to start`);
      offer.rent_watch_window_hours = int(form, `${key}_watch_hours`, `${label} hours to finish`);
    }
    return [offer];
  });
}

export function promoOf(form: FormData): PromoInput {
  const kind = text(form, "discount_kind");
  const amount = text(form, "discount");
  const max = text(form, "max_redemptions");
  const titleId = text(form, "title_id");
  const starts = parseUtc(text(form, "starts_at"), "Start");
  const ends = parseUtc(text(form, "ends_at"), "End");
  const appliesTo = text(form, "applies_to");
  const promo: PromoInput = {
    code: text(form, "code"),
    currency: text(form, "currency") || "USD",
    applies_to: appliesTo === "buy" || appliesTo === "rent" ? appliesTo : "both",
  };
  if (kind === "percent") {
    if (!/^\d{1,3}$/.test(amount)) throw new FormProblem("The discount must be a whole percentage, 1 to 100.");
    promo.percent_off = Number(amount);
  } else {
    const minor = parseMoney(amount, "The discount");
    if (minor === null) throw new FormProblem("Give the discount.");
    promo.amount_off_minor = minor;
  }
  if (max) {
    if (!/^\d+$/.test(max)) throw new FormProblem("The usage limit must be a whole number.");
    promo.max_redemptions = Number(max);
  }
  if (titleId) promo.title_id = titleId;
  if (starts) promo.starts_at = starts;
  if (ends) promo.ends_at = ends;
  return promo;
}
