/**
 * Which clicks and form submits start a same-origin page load in this tab: only those let the
 * delivery queue wait in storage for the next page instead of going by beacon.
 */

/**
 * True when following a link to `href` from `current` loads another same-origin document (not a
 * fragment jump; a form submit always loads, so `fragmentJumps` is false for forms).
 */
export function loadsSameOriginPage(href: string, current: string, fragmentJumps = true): boolean {
  try {
    const to = new URL(href, current);
    const from = new URL(current);
    if (to.origin !== from.origin || (to.protocol !== "http:" && to.protocol !== "https:")) return false;
    const withoutHash = (u: URL) => u.href.split("#")[0];
    // A link to a fragment of this very document scrolls; the page stays.
    return !(fragmentJumps && to.href.includes("#") && withoutHash(to) === withoutHash(from));
  } catch {
    return false;
  }
}

const sameTab = (target: string | null): boolean => !target || target === "_self";

export interface LinkClick {
  href: string;
  target: string | null;
  download: boolean;
  button: number;
  /** Ctrl, Meta, Shift or Alt held: a new tab, window or a download. */
  modified: boolean;
}

/** A primary click on a same-origin link that opens in this tab and is not a download. */
export function isInternalLinkClick(click: LinkClick, current: string): boolean {
  return click.button === 0 && !click.modified && !click.download && sameTab(click.target) && loadsSameOriginPage(click.href, current);
}

/** A form submit that loads a same-origin page in this tab (`action` empty means this page). */
export function isInternalSubmit(action: string | null, method: string | null, target: string | null, current: string): boolean {
  return (method || "").toLowerCase() !== "dialog" && sameTab(target) && loadsSameOriginPage(action || current, current, false);
}
