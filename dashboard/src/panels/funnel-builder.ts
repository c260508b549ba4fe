/**
 * The funnel builder: step rows (any page, a page path or pattern, a track event, a journey
 * touchpoint) whose values autocomplete from what the lake holds (GET /v1/funnels/vocabulary,
 * asked again with `q` as the user types), and a name to save the funnel under.
 */

import type { ApiClient } from "../api";
import { h, replaceChildren } from "../dom";
import { label, num } from "../format";
import type { DateRange } from "../range";
import type { FunnelStepSpec, FunnelVocabulary, VocabularyTerm } from "../types";

export type StepKind = "type" | "url" | "event" | "touchpoint";

export interface BuiltStep {
  step: FunnelStepSpec;
  label: string;
}

const KINDS: [StepKind, string][] = [
  ["type", "Any page"],
  ["url", "Page"],
  ["event", "Event"],
  ["touchpoint", "Touchpoint"],
];
const MAX_STEPS = 10;
const SEARCH_DELAY_MS = 250;

export function stepKind(step: FunnelStepSpec): StepKind {
  return (Object.keys(step)[0] as StepKind) ?? "type";
}

export function stepValue(step: FunnelStepSpec): string {
  return Object.values(step)[0] as string;
}

/** A step's name when the funnel gives none: the path, the event, the touchpoint. */
export function defaultLabel(step: FunnelStepSpec): string {
  const kind = stepKind(step);
  if (kind === "type") return "Any page";
  if (kind === "touchpoint") return label(stepValue(step));
  return stepValue(step);
}

interface Row {
  element: HTMLElement;
  kind: HTMLSelectElement;
  value: HTMLInputElement;
  label: string | null; // a preset's or saved funnel's label, kept until the step changes
}

export class FunnelBuilder {
  readonly element: HTMLElement;
  private readonly rows: Row[] = [];
  private readonly list = h("ol", { className: "builder-steps" });
  private readonly lists: Record<Exclude<StepKind, "type">, HTMLDataListElement> = {
    url: h("datalist", { id: "funnel-values-url" }),
    event: h("datalist", { id: "funnel-values-event" }),
    touchpoint: h("datalist", { id: "funnel-values-touchpoint" }),
  };
  private readonly message = h("p", { className: "builder-message small", role: "status" });
  readonly nameInput = h("input", { type: "text", name: "funnel-name", placeholder: "Name to save it under", maxlength: 80, "aria-label": "Funnel name" });
  private searchTimer: number | undefined;
  private vocabulary: FunnelVocabulary | null = null;

  constructor(
    private readonly api: () => { api: ApiClient; range: DateRange } | null,
    onRun: (steps: BuiltStep[]) => void,
    onSave: (steps: BuiltStep[], name: string) => void,
  ) {
    const addButton = h("button", { type: "button", className: "button small ghost", "data-action": "add-step" }, "+ Add step");
    addButton.addEventListener("click", () => {
      if (this.rows.length < MAX_STEPS) this.addRow({ event: "" } as FunnelStepSpec, null).value.focus();
    });
    const run = h("button", { type: "submit", className: "button small", "data-action": "run" }, "Show funnel");
    const save = h("button", { type: "button", className: "button small ghost", "data-action": "save" }, "Save");
    save.addEventListener("click", () => {
      const steps = this.read();
      const name = this.nameInput.value.trim();
      if (!steps) return;
      if (!name) {
        this.say("Give the funnel a name to save it.");
        this.nameInput.focus();
        return;
      }
      onSave(steps, name);
    });
    const form = h(
      "form",
      { className: "builder-form" },
      this.list,
      h("div", { className: "builder-actions" }, addButton, run, this.nameInput, save),
      this.message,
      Object.values(this.lists),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const steps = this.read();
      if (steps) onRun(steps);
    });
    this.element = h(
      "details",
      { className: "funnel-builder" },
      h("summary", {}, "Build or edit this funnel"),
      form,
    );
  }

  /** Show these steps in the rows (a preset, a saved funnel). */
  show(steps: BuiltStep[], name = ""): void {
    this.rows.splice(0).forEach((row) => row.element.remove());
    for (const { step, label: text } of steps) this.addRow(step, text);
    this.nameInput.value = name;
    this.say("");
  }

  say(text: string): void {
    this.message.textContent = text;
  }

  /** The lake's values for the range: every datalist starts from the most visited. */
  setVocabulary(vocabulary: FunnelVocabulary): void {
    this.vocabulary = vocabulary;
    this.fill("url", [...vocabulary.patterns, ...vocabulary.pages]);
    this.fill("event", vocabulary.events);
    this.fill("touchpoint", vocabulary.touchpoints);
  }

  private fill(kind: Exclude<StepKind, "type">, terms: VocabularyTerm[]): void {
    replaceChildren(
      this.lists[kind],
      terms.map((t) => h("option", { value: t.value }, `${kind === "touchpoint" ? label(t.value) + " · " : ""}${num(t.visitors)} visitors`)),
    );
  }

  private addRow(step: FunnelStepSpec, text: string | null): Row {
    const kind = h(
      "select",
      { name: "step-kind", "aria-label": "Step kind" },
      KINDS.map(([value, name]) => h("option", { value }, name)),
    );
    kind.value = stepKind(step);
    const value = h("input", { type: "text", name: "step-value", autocomplete: "off", "aria-label": "Step value", maxlength: 200 });
    value.value = kind.value === "type" ? "" : stepValue(step);
    const remove = h("button", { type: "button", className: "button small ghost", "aria-label": "Remove step", title: "Remove step" }, "×");
    const element = h("li", { className: "builder-step" }, kind, value, remove);
    const row: Row = { element, kind, value, label: text };
    const sync = () => {
      const typed = kind.value !== "type";
      value.hidden = !typed;
      value.placeholder = kind.value === "url" ? "/path or /prefix/*" : kind.value === "event" ? "Event name" : "touchpoint";
      if (typed) value.setAttribute("list", `funnel-values-${kind.value}`);
      else value.removeAttribute("list");
    };
    kind.addEventListener("change", () => {
      row.label = null;
      sync();
    });
    value.addEventListener("input", () => {
      row.label = null;
      this.search(kind.value as StepKind, value.value);
    });
    remove.addEventListener("click", () => {
      if (this.rows.length <= 2) {
        this.say("A funnel has at least 2 steps.");
        return;
      }
      this.rows.splice(this.rows.indexOf(row), 1);
      element.remove();
    });
    sync();
    this.rows.push(row);
    this.list.append(element);
    return row;
  }

  /** Ask the lake for values containing what was typed (large sites have more than the first 25). */
  private search(kind: StepKind, text: string): void {
    window.clearTimeout(this.searchTimer);
    if (kind === "type") return;
    this.searchTimer = window.setTimeout(() => {
      const context = this.api();
      if (!context) return;
      if (!text.trim()) {
        if (this.vocabulary) this.setVocabulary(this.vocabulary);
        return;
      }
      context.api
        .get<FunnelVocabulary>("/v1/funnels/vocabulary", { from: context.range.from, to: context.range.to, q: text.trim().slice(0, 100) })
        .then((found) => {
          if (kind === "url") this.fill("url", [...found.patterns, ...found.pages]);
          else this.fill(kind, kind === "event" ? found.events : found.touchpoints);
        })
        .catch(() => undefined); // autocomplete is a help: the step still takes any text
    }, SEARCH_DELAY_MS);
  }

  /** The steps as typed, or null (with a message) when one is incomplete. */
  private read(): BuiltStep[] | null {
    const steps: BuiltStep[] = [];
    for (const [index, row] of this.rows.entries()) {
      const kind = row.kind.value as StepKind;
      const value = row.value.value.trim();
      if (kind !== "type" && !value) {
        this.say(`Step ${index + 1} needs a value.`);
        row.value.focus();
        return null;
      }
      if (kind === "url" && value.slice(0, -1).includes("*")) {
        this.say(`Step ${index + 1}: * may only end a page path (/services/*).`);
        return null;
      }
      const step = (kind === "type" ? { type: "page" } : { [kind]: value }) as FunnelStepSpec;
      steps.push({ step, label: row.label ?? defaultLabel(step) });
    }
    if (steps.length < 2) {
      this.say("A funnel has at least 2 steps.");
      return null;
    }
    this.say("");
    return steps;
  }
}
