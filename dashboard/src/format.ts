/** Number, duration, date and freshness formatting (en-GB: the store is in the UK). */

const LOCALE = "en-GB";
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(LOCALE, { notation: "compact", maximumFractionDigits: 1 });
const money = new Intl.NumberFormat(LOCALE, { style: "currency", currency: "GBP", maximumFractionDigits: 0 });
const money2 = new Intl.NumberFormat(LOCALE, { style: "currency", currency: "GBP", maximumFractionDigits: 2 });

export function num(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Math.abs(value) >= 100_000 ? compact.format(value) : integer.format(value);
}

export function decimal(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return value.toLocaleString(LOCALE, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function gbp(value: number | null | undefined, cents = false): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return (cents ? money2 : money).format(value);
}

/** A ratio (0–1) as a percentage. */
export function pct(ratio: number | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "–";
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  const hours = Math.floor(s / 3600);
  if (hours < 48) return `${hours}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.round(hours / 24)}d`;
}

export function dateTime(value: string | Date | null | undefined): string {
  if (!value) return "–";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(LOCALE, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

export function time(value: Date): string {
  return value.toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** "just now", "3 min ago", "2 h ago", "4 days ago". */
export function ago(date: Date, now = new Date()): string {
  const seconds = Math.max(0, Math.round((now.getTime() - date.getTime()) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

/** Turn `snake_case` or a slug into words. */
export function label(value: string | null | undefined): string {
  if (!value) return "–";
  const words = value.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
