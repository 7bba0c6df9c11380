/** 399 → "3.99": minor units as a form field's value (currencies with cents). */
export function moneyInput(minor: number | null | undefined): string {
  if (minor === null || minor === undefined) return "";
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;
}

/** An instant as a `datetime-local` value in UTC ("2026-03-12T14:05"); null → "". */
export function utcInput(value: string | Date | null | undefined): string {
  if (!value) return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().slice(0, 16);
}
