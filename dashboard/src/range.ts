/** The date range every lake-backed panel shows, kept in the URL so a view can be shared. */

export interface DateRange {
  from: string; // YYYY-MM-DD, inclusive
  to: string; // YYYY-MM-DD, inclusive
  preset: string | null; // "7d", "30d"… or null for a custom range
}

export const PRESETS: { id: string; label: string; days: number }[] = [
  { id: "1d", label: "Today", days: 1 },
  { id: "7d", label: "7 days", days: 7 },
  { id: "30d", label: "30 days", days: 30 },
  { id: "90d", label: "90 days", days: 90 },
];

const DAY_MS = 86_400_000;

export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The `days` days ending today (UTC, like the lake's partitions). */
export function presetRange(id: string, today = new Date()): DateRange {
  const preset = PRESETS.find((p) => p.id === id) ?? PRESETS[1];
  return { from: isoDay(new Date(today.getTime() - (preset.days - 1) * DAY_MS)), to: isoDay(today), preset: preset.id };
}

export function dayCount(range: DateRange): number {
  return Math.round((Date.parse(range.to) - Date.parse(range.from)) / DAY_MS) + 1;
}

/** Hourly buckets for a day or two, daily beyond. */
export function intervalFor(range: DateRange): "hour" | "day" {
  return dayCount(range) <= 2 ? "hour" : "day";
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function validRange(from: string, to: string): boolean {
  return DAY_PATTERN.test(from) && DAY_PATTERN.test(to) && !Number.isNaN(Date.parse(from)) && from <= to;
}

export function rangeFromUrl(search = window.location.search): DateRange {
  const params = new URLSearchParams(search);
  const preset = params.get("range");
  if (preset && PRESETS.some((p) => p.id === preset)) return presetRange(preset);
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  return validRange(from, to) ? { from, to, preset: null } : presetRange("7d");
}

export function rangeToUrl(range: DateRange): void {
  const params = new URLSearchParams(window.location.search);
  for (const key of ["range", "from", "to"]) params.delete(key);
  if (range.preset) params.set("range", range.preset);
  else {
    params.set("from", range.from);
    params.set("to", range.to);
  }
  window.history.replaceState(null, "", `${window.location.pathname}?${params}${window.location.hash}`);
}
