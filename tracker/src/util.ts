/** Small helpers shared by the tracker's modules: ids, time, URLs, campaigns, safe storage. */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Props = Record<string, Json | undefined>;

/** A random RFC 4122 v4 id (crypto when available). */
export function uuid(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = (Math.random() * 256) | 0;
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

/** UTM parameters become Segment's context.campaign; ad click ids are kept apart (marketing data). */
const UTM: Record<string, string> = {
  utm_source: "source",
  utm_medium: "medium",
  utm_campaign: "name",
  utm_term: "term",
  utm_content: "content",
};
export const CLICK_IDS = ["gclid", "gbraid", "wbraid", "dclid", "msclkid", "ttclid", "li_fat_id", "fbclid", "twclid"];

export interface Campaign {
  campaign: Record<string, string>;
  clickIds: Record<string, string>;
}

/** The campaign tags of a query string ("?utm_source=…&gclid=…"). */
export function parseCampaign(search: string): Campaign {
  const campaign: Record<string, string> = {};
  const clickIds: Record<string, string> = {};
  const params = new URLSearchParams(search);
  params.forEach((value, key) => {
    const name = key.toLowerCase();
    if (UTM[name] && value) campaign[UTM[name]] = value.slice(0, 200);
    else if (CLICK_IDS.includes(name) && value) clickIds[name] = value.slice(0, 200);
  });
  return { campaign, clickIds };
}

/** `url` without the given query parameters (linker, and click ids without marketing consent). */
export function withoutParams(url: string, names: string[]): string {
  if (!names.some((n) => url.includes(n + "="))) return url;
  try {
    const parsed = new URL(url);
    for (const name of names) parsed.searchParams.delete(name);
    return parsed.toString();
  } catch {
    return url;
  }
}

/** A key-value view of localStorage that never throws (private mode, quota, disabled storage). */
export interface KV {
  get(key: string): string | null;
  set(key: string, value: string): boolean;
  remove(key: string): void;
  keys(): string[];
}

export function localKV(): KV | null {
  let storage: Storage;
  try {
    storage = window.localStorage;
    if (!storage) return null;
  } catch {
    return null;
  }
  return {
    get: (key) => {
      try {
        return storage.getItem(key);
      } catch {
        return null;
      }
    },
    set: (key, value) => {
      try {
        storage.setItem(key, value);
        return true;
      } catch {
        return false;
      }
    },
    remove: (key) => {
      try {
        storage.removeItem(key);
      } catch {
        /* nothing to remove */
      }
    },
    keys: () => {
      try {
        return Object.keys(storage);
      } catch {
        return [];
      }
    },
  };
}

/** An in-memory KV for tests. */
export function memoryKV(initial: Record<string, string> = {}): KV & { data: Record<string, string> } {
  const data: Record<string, string> = { ...initial };
  return {
    data,
    get: (key) => (key in data ? data[key] : null),
    set: (key, value) => {
      data[key] = value;
      return true;
    },
    remove: (key) => {
      delete data[key];
    },
    keys: () => Object.keys(data),
  };
}

/** A short, trimmed text of an element for event properties (never a form field's value). */
export function shortText(text: string | null | undefined, max = 80): string | undefined {
  if (!text) return undefined;
  const cleaned = text.replace(/\s+/g, " ").trim();
  return cleaned ? cleaned.slice(0, max) : undefined;
}
