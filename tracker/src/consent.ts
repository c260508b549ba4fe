/** Consent categories, privacy signals (GPC, DNT) and the effective state the tracker works under. */

export interface Categories {
  analytics: boolean;
  marketing: boolean;
  personalization: boolean;
}

export interface Signals {
  gpc: boolean;
  dnt: boolean;
}

export const REFUSED: Categories = { analytics: false, marketing: false, personalization: false };

/** The browser's standing opt-outs: Global Privacy Control and Do Not Track. */
export function readSignals(nav: Partial<Navigator> & { globalPrivacyControl?: boolean; doNotTrack?: string | null }, win?: { doNotTrack?: string }): Signals {
  const dnt = nav.doNotTrack === "1" || nav.doNotTrack === "yes" || win?.doNotTrack === "1";
  return { gpc: nav.globalPrivacyControl === true, dnt };
}

/**
 * Merge a banner's choice into the current state. Unnamed categories keep their value; GPC or
 * DNT keep marketing and personalization refused whatever the banner says (analytics may still be
 * granted explicitly).
 */
export function applyConsent(current: Categories, choice: Partial<Categories>, signals: Signals): Categories {
  const next: Categories = { ...current };
  for (const key of ["analytics", "marketing", "personalization"] as const) {
    if (typeof choice[key] === "boolean") next[key] = choice[key] as boolean;
  }
  if (signals.gpc || signals.dnt) {
    next.marketing = false;
    next.personalization = false;
  }
  return next;
}

/** What each message carries as context.consent. */
export function consentContext(state: Categories, signals: Signals): Record<string, boolean> {
  const out: Record<string, boolean> = { ...state };
  if (signals.gpc) out.gpc = true;
  if (signals.dnt) out.dnt = true;
  return out;
}

/** A stored consent record, or null when absent or unreadable. */
export function parseStoredConsent(raw: string | null): Categories | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw);
    if (value && typeof value === "object" && typeof value.analytics === "boolean") {
      return { analytics: value.analytics, marketing: value.marketing === true, personalization: value.personalization === true };
    }
  } catch {
    /* unreadable: as if absent */
  }
  return null;
}
