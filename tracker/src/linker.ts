/**
 * Cross-domain linker: a link to one of the store's other domains carries `_rvl=<anonymousId>.<time>`
 * so the journey continues there. It is added only with analytics consent, read only within
 * LINKER_TTL_MS of its creation, removed from the address bar at once, and adopted only if the
 * visitor has (or later gives) analytics consent on the destination.
 */

export const LINKER_PARAM = "_rvl";
export const LINKER_TTL_MS = 2 * 60 * 1000;
const ID_RE = /^[A-Za-z0-9-]{8,64}$/;

export function encodeLinker(anonymousId: string, now: number): string {
  return `${anonymousId}.${Math.floor(now / 1000).toString(36)}`;
}

/** The anonymous id a linker value carries, or null when malformed, stale or from the future. */
export function decodeLinker(value: string | null, now: number): string | null {
  if (!value) return null;
  const dot = value.lastIndexOf(".");
  if (dot <= 0) return null;
  const id = value.slice(0, dot);
  const seconds = parseInt(value.slice(dot + 1), 36);
  if (!ID_RE.test(id) || !Number.isFinite(seconds)) return null;
  const age = now - seconds * 1000;
  return age >= -5000 && age <= LINKER_TTL_MS ? id : null;
}

/** True when `host` is one of `domains` or a subdomain of one, and not the current host. */
export function isLinkedHost(host: string, currentHost: string, domains: string[]): boolean {
  if (!host || host === currentHost) return false;
  return domains.some((d) => host === d || host.endsWith("." + d));
}
