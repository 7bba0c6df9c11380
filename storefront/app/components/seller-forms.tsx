import type { SellerOfferView } from "@marquee/commerce/views";
import { moneyInput, utcInput } from "../lib/money";
import { AGE_RATINGS } from "../lib/ratings";
import { Field, SelectField } from "./form";

/** A title's metadata as the edit form shows it. */
export interface TitleValues {
  title: string;
  year: number | string;
  genres: string[];
  runtime_min: number | string;
  age_rating: string;
  synopsis: string;
  cast: string[];
  director: string;
  regions: string[];
  release_date: string | null;
}

export function TitleFields({ values }: { values?: Partial<TitleValues> | undefined }) {
  const v = values ?? {};
  return (
    <>
      <Field label="Title" name="title" required maxLength={300} defaultValue={v.title ?? ""} />
      <div className="field-row">
        <Field
          label="Year"
          name="year"
          required
          inputMode="numeric"
          pattern="[0-9]{4}"
          defaultValue={String(v.year ?? "")}
        />
        <Field
          label="Running time (minutes)"
          name="runtime_min"
          required
          inputMode="numeric"
          pattern="[0-9]{1,4}"
          defaultValue={String(v.runtime_min ?? "")}
        />
        <SelectField
          label="Age rating"
          name="age_rating"
          options={AGE_RATINGS.map((r) => [r, r] as const)}
          defaultValue={v.age_rating ?? "PG"}
          required
        />
      </div>
      <Field label="Director" name="director" maxLength={200} defaultValue={v.director ?? ""} />
      <Field
        label="Genres"
        name="genres"
        defaultValue={(v.genres ?? []).join(", ")}
        hint="Comma-separated, e.g. Drama, Comedy."
      />
      <Field label="Cast" name="cast" defaultValue={(v.cast ?? []).join(", ")} hint="Comma-separated." />
      <div className="field">
        <label htmlFor="synopsis">Synopsis</label>
        <textarea id="synopsis" name="synopsis" rows={5} maxLength={5000} defaultValue={v.synopsis ?? ""} />
      </div>
      <div className="field-row">
        <Field
          label="Regions"
          name="regions"
          defaultValue={(v.regions ?? []).join(", ")}
          hint="Two-letter country codes, comma-separated (US, GB). Empty: everywhere."
        />
        <Field label="Release date" name="release_date" type="date" defaultValue={v.release_date ?? ""} />
      </div>
    </>
  );
}

/** One stored offer, as commerce's seller title view (`sellerTitleView`) shows it. */
export type OfferValues = SellerOfferView;

const SLOTS = [
  ["rent", "SD"],
  ["rent", "HD"],
  ["rent", "4K"],
  ["buy", "SD"],
  ["buy", "HD"],
  ["buy", "4K"],
] as const;

/** Prices, rental windows and timed sales: a row per kind × quality, ticked to sell it. */
export function OffersEditor({ offers }: { offers: OfferValues[] }) {
  const currency = offers[0]?.currency ?? "USD";
  return (
    <>
      <SelectField
        label="Currency"
        name="currency"
        options={[
          ["USD", "US dollar (USD)"],
          ["EUR", "Euro (EUR)"],
          ["GBP", "Pound sterling (GBP)"],
          ["CAD", "Canadian dollar (CAD)"],
          ["AUD", "Australian dollar (AUD)"],
        ]}
        defaultValue={currency}
      />
      <div className="offers-editor">
        {SLOTS.map(([kind, quality]) => {
          const o = offers.find((x) => x.kind === kind && x.quality === quality);
          const key = `${kind}_${quality}`;
          const label = `${kind === "buy" ? "Buy" : "Rent"} ${quality}`;
          return (
            <fieldset key={key} className="offer-slot">
              <legend>{label}</legend>
              <label className="check">
                <input type="checkbox" name={`${key}_on`} defaultChecked={Boolean(o)} /> Sell {label.toLowerCase()}
              </label>
              <Field
                label="Price"
                name={`${key}_price`}
                inputMode="decimal"
                defaultValue={moneyInput(o?.price_minor)}
              />
              {kind === "rent" ? (
                <div className="field-row">
                  <Field
                    label="Days to start"
                    name={`${key}_start_days`}
                    inputMode="numeric"
                    defaultValue={String(o?.rent_start_window_days ?? 30)}
                  />
                  <Field
                    label="Hours to finish"
                    name={`${key}_watch_hours`}
                    inputMode="numeric"
                    defaultValue={String(o?.rent_watch_window_hours ?? 48)}
                  />
                </div>
              ) : null}
              <Field
                label="Sale price"
                name={`${key}_sale_price`}
                inputMode="decimal"
                defaultValue={moneyInput(o?.sale_price_minor)}
                hint="Optional; below the price."
              />
              <div className="field-row">
                <Field
                  label="Sale starts (UTC)"
                  name={`${key}_sale_starts`}
                  type="datetime-local"
                  defaultValue={utcInput(o?.sale_starts_at)}
                />
                <Field
                  label="Sale ends (UTC)"
                  name={`${key}_sale_ends`}
                  type="datetime-local"
                  defaultValue={utcInput(o?.sale_ends_at)}
                />
              </div>
            </fieldset>
          );
        })}
      </div>
    </>
  );
}
