/**
 * What one panel asks of the whole page: open a visitor, add or remove a filter. Panels dispatch
 * these as DOM events; the dashboard (main.ts) owns the state, the URL and the refresh.
 */

export const FILTER_NAMES = ["channel", "page", "device", "country"] as const;
export type FilterName = (typeof FILTER_NAMES)[number];
export type Filters = Partial<Record<FilterName, string>>;

export const OPEN_VISITOR = "reviva:open-visitor";
export const SET_FILTER = "reviva:set-filter";

/** Show a visitor's profile (People, Realtime and the lookup box all go through here). */
export function openVisitor(visitorKey: string): void {
  document.dispatchEvent(new CustomEvent(OPEN_VISITOR, { detail: visitorKey }));
}

/** Add (value) or remove (null) one filter; every filterable panel reloads. */
export function setFilter(name: FilterName, value: string | null): void {
  document.dispatchEvent(new CustomEvent(SET_FILTER, { detail: { name, value } }));
}

export function filtersFromUrl(search = window.location.search): Filters {
  const params = new URLSearchParams(search);
  const filters: Filters = {};
  for (const name of FILTER_NAMES) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

/** Put `values` into the page's URL (null removes), keeping everything else. */
export function updateUrl(values: Record<string, string | null>): void {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(values)) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const search = params.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${search ? `?${search}` : ""}${window.location.hash}`);
}
