/** DOM-free detectors behind autocapture, so their logic is unit-tested without a browser. */

/** Rage clicks: `threshold` clicks within `windowMs`, all within `radius` px of the first. */
export class RageClickDetector {
  private clicks: { x: number; y: number; t: number }[] = [];
  constructor(
    private readonly threshold = 3,
    private readonly windowMs = 1000,
    private readonly radius = 30,
  ) {}

  /** Record a click; returns the burst's click count when this click completes a rage burst. */
  click(x: number, y: number, t: number): number | null {
    this.clicks = this.clicks.filter((c) => t - c.t <= this.windowMs && Math.hypot(c.x - x, c.y - y) <= this.radius);
    this.clicks.push({ x, y, t });
    if (this.clicks.length >= this.threshold) {
      const count = this.clicks.length;
      this.clicks = [];
      return count;
    }
    return null;
  }
}

export const SCROLL_MILESTONES = [25, 50, 75, 100];

/** How far down the page the viewport's bottom edge is, in percent (0–100). */
export function scrollPercent(scrollY: number, viewportHeight: number, documentHeight: number): number {
  if (documentHeight <= 0) return 100;
  return Math.max(0, Math.min(100, Math.round(((scrollY + viewportHeight) / documentHeight) * 100)));
}

/** Milestones reached at `percent` that were not reported yet (and marks them reported). */
export function newMilestones(percent: number, reported: Set<number>): number[] {
  const out: number[] = [];
  for (const m of SCROLL_MILESTONES) {
    // 99 % counts as the bottom: sub-pixel layouts rarely reach exactly 100.
    if ((percent >= m || (m === 100 && percent >= 99)) && !reported.has(m)) {
      reported.add(m);
      out.push(m);
    }
  }
  return out;
}

export interface FieldLike {
  name?: string;
  id?: string;
  type?: string;
  tagName?: string;
}

const SKIPPED_TYPES = new Set(["submit", "button", "reset", "image", "hidden"]);

/**
 * A form's shape for "Form Submitted": field names, types and the count, never a value. Only
 * names and types are read from the elements, so no value can leak by construction.
 */
export function formSummary(fields: ArrayLike<FieldLike>): { field_names: string[]; field_types: string[]; field_count: number } {
  const names: string[] = [];
  const types: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const type = (f.type || f.tagName || "").toLowerCase();
    if (SKIPPED_TYPES.has(type) || (f.tagName || "").toUpperCase() === "FIELDSET") continue;
    const name = f.name || f.id;
    if (!name) continue;
    if (!names.includes(name)) {
      names.push(name.slice(0, 64));
      types.push(type);
    }
  }
  return { field_names: names, field_types: types, field_count: names.length };
}

/** Desktop exit intent: the pointer left the window through its top edge. */
export function isExitIntent(clientY: number, relatedTarget: unknown): boolean {
  return relatedTarget == null && clientY <= 0;
}

/** Cumulative Layout Shift as web-vitals defines it: the worst session window (1 s gap, 5 s max). */
export class ClsAccumulator {
  value = 0;
  private session = 0;
  private first = 0;
  private last = 0;

  add(shift: number, time: number, hadRecentInput: boolean): void {
    if (hadRecentInput) return;
    if (this.session && time - this.last < 1000 && time - this.first < 5000) {
      this.session += shift;
    } else {
      this.session = shift;
      this.first = time;
    }
    this.last = time;
    this.value = Math.max(this.value, this.session);
  }
}

/** Interaction to Next Paint: the longest interaction (a p98 approximation, exact below 50). */
export class InpAccumulator {
  private byInteraction = new Map<number, number>();

  add(interactionId: number, duration: number): void {
    if (!interactionId) return;
    this.byInteraction.set(interactionId, Math.max(this.byInteraction.get(interactionId) || 0, duration));
  }

  get value(): number | null {
    if (!this.byInteraction.size) return null;
    const sorted = [...this.byInteraction.values()].sort((a, b) => b - a);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length / 50))];
  }
}
