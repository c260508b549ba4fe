"""Journey rules: which events are touchpoints of the customer journey, and at which stage.

Operators change the rules without a deploy: a JSON file (the packaged default is
`default_journey_rules.json` beside this module; `REVIVA_JOURNEY_RULES` in the settings points to
another). Format::

    {
      "version": 1,
      "rules": [
        {"match": {"type": "track", "event": "Booking Submitted"},
         "touchpoint": "booking_submitted", "stage": "decision", "conversion": true},
        {"match": {"type": "page", "path": "/pricing*"},
         "touchpoint": "pricing_check", "stage": "consideration"},
        {"match": {"type": "page", "landing": true},
         "touchpoint": "landing_page", "stage": "awareness"}
      ]
    }

- Rules are tried in order; the first whose every condition holds wins. An event that matches no
  rule is not a touchpoint.
- `match` conditions (at least one): `type` is the Segment message type ("page", "track",
  "screen", "identify", "group", "alias"); `event` is a glob (`*`, `?`, `[abc]`) on the event name
  (the track event, or the page's name); `path` is a glob on the page path, starting with "/" or
  "*"; `landing: true` holds only for the first page of a session. Globs are case-insensitive and
  must match the whole value ("/pricing*" matches "/pricing" and "/pricing/iphone").
- `touchpoint`: a snake_case name (the source plan's `customer_journeys.touchpoint`), which must
  keep one stage throughout the file.
- `stage`: awareness, consideration, decision or retention (`customer_journeys.journey_stage`).
- `conversion` (default false): the touchpoint is a conversion (`conversion_event`).

Optional `funnels`: the dashboard's preset funnels, in the steps of `POST /v1/funnels` plus a
`label` each, so the presets name what this site's rules name::

    "funnels": [{"id": "booking", "name": "Visit → booking", "steps": [
        {"type": "page", "label": "Visited"}, {"touchpoint": "pricing_check", "label": "Saw prices"},
        {"touchpoint": "booking_submitted", "label": "Booked"}]}]

A `touchpoint` step must name a touchpoint of the rules. Without `funnels`, one preset per
conversion touchpoint is derived (`preset_funnels`): any page, the first consideration
touchpoint, the first other decision touchpoint, then the conversion.

A visitor's stage only moves forward through the funnel (`next_stage`), and a visitor who has
converted before is in "retention" when they come back.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Stage = Literal["awareness", "consideration", "decision", "retention"]
STAGES: tuple[Stage, ...] = ("awareness", "consideration", "decision", "retention")
STAGE_ORDER: dict[str, int] = {stage: rank for rank, stage in enumerate(STAGES)}
EventType = Literal["page", "track", "screen", "identify", "group", "alias"]

DEFAULT_RULES_RESOURCE = "default_journey_rules.json"


class JourneyRulesError(ValueError):
    """A journey rules file that cannot be used, with where and why."""


class RuleMatch(BaseModel):
    """The conditions of one rule; all that are given must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: EventType | None = None
    event: str | None = Field(default=None, min_length=1, max_length=200)
    path: str | None = Field(default=None, min_length=1, max_length=500)
    landing: bool | None = None

    @field_validator("path")
    @classmethod
    def _path_is_a_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("/", "*")):
            raise ValueError(f"a path glob starts with '/' or '*', got {value!r}")
        return value

    @model_validator(mode="after")
    def _has_a_condition(self) -> RuleMatch:
        if self.type is None and self.event is None and self.path is None and self.landing is None:
            raise ValueError("give at least one of type, event, path, landing")
        return self


class JourneyRule(BaseModel):
    """One rule: conditions and the touchpoint they mean."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: RuleMatch
    touchpoint: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)
    stage: Stage
    conversion: bool = False


class FunnelPresetStep(BaseModel):
    """One step of a preset funnel: exactly one of type, url, event, touchpoint, and its label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["page", "screen", "track", "identify"] | None = None
    url: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^*]*\*?$")
    event: str | None = Field(default=None, min_length=1, max_length=200)
    touchpoint: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", max_length=100)
    label: str = Field(min_length=1, max_length=60)

    @model_validator(mode="after")
    def _one_condition(self) -> FunnelPresetStep:
        given = [name for name in ("type", "url", "event", "touchpoint") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of type, url, event, touchpoint")
        return self

    def step(self) -> dict[str, str]:
        """The step as `POST /v1/funnels` takes it."""
        return {
            name: value for name in ("type", "url", "event", "touchpoint") if (value := getattr(self, name))
        }


class FunnelPreset(BaseModel):
    """A preset funnel the dashboard offers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=40)
    name: str = Field(min_length=1, max_length=80)
    steps: list[FunnelPresetStep] = Field(min_length=2, max_length=10)


class JourneyRulesFile(BaseModel):
    """The whole rules file."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    description: str | None = None
    rules: list[JourneyRule]
    funnels: list[FunnelPreset] | None = None

    @model_validator(mode="after")
    def _funnels_name_known_touchpoints(self) -> JourneyRulesFile:
        known = {rule.touchpoint for rule in self.rules}
        for funnel in self.funnels or []:
            for step in funnel.steps:
                if step.touchpoint is not None and step.touchpoint not in known:
                    raise ValueError(
                        f"funnel {funnel.id!r} names touchpoint {step.touchpoint!r}, which no rule has"
                    )
        return self

    @model_validator(mode="after")
    def _touchpoints_keep_one_stage(self) -> JourneyRulesFile:
        first_seen: dict[str, tuple[int, str]] = {}
        for index, rule in enumerate(self.rules):
            seen = first_seen.setdefault(rule.touchpoint, (index, rule.stage))
            if seen[1] != rule.stage:
                raise ValueError(
                    f"touchpoint {rule.touchpoint!r} has stage {seen[1]!r} in rule {seen[0]} "
                    f"and {rule.stage!r} in rule {index}"
                )
        return self


@dataclass(frozen=True, slots=True)
class JourneyMatch:
    """What a matching rule says about an event."""

    touchpoint: str
    stage: Stage
    conversion: bool


def _glob(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else re.compile(fnmatch.translate(pattern), re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    type: str | None
    event: re.Pattern[str] | None
    path: re.Pattern[str] | None
    landing: bool | None
    result: JourneyMatch

    def holds(self, event_name: str | None, page_path: str | None, is_landing: bool) -> bool:
        if self.landing is not None and self.landing != is_landing:
            return False
        if self.event is not None and (event_name is None or self.event.match(event_name) is None):
            return False
        return self.path is None or (page_path is not None and self.path.match(page_path) is not None)


class JourneyRules:
    """Compiled journey rules: build once (`load_journey_rules`), match per event."""

    def __init__(
        self, rules: list[JourneyRule], source: str = "<rules>", funnels: list[FunnelPreset] | None = None
    ) -> None:
        self.source = source
        self.rules: tuple[JourneyRule, ...] = tuple(rules)
        self.funnels: tuple[FunnelPreset, ...] = (
            tuple(funnels) if funnels is not None else preset_funnels(rules)
        )
        compiled = [
            _CompiledRule(
                type=rule.match.type,
                event=_glob(rule.match.event),
                path=_glob(rule.match.path),
                landing=rule.match.landing,
                result=JourneyMatch(rule.touchpoint, rule.stage, rule.conversion),
            )
            for rule in rules
        ]
        # Per event type, the rules that can apply to it, in file order: a page event never
        # tries the track rules.
        self._by_type: dict[str, tuple[_CompiledRule, ...]] = {
            kind: tuple(rule for rule in compiled if rule.type in (None, kind))
            for kind in ("page", "track", "screen", "identify", "group", "alias")
        }
        self._untyped = tuple(rule for rule in compiled if rule.type is None)

    def __len__(self) -> int:
        return len(self.rules)

    def match(
        self,
        type: str,
        event_name: str | None,
        page_path: str | None,
        *,
        is_landing: bool = False,
    ) -> JourneyMatch | None:
        """The first rule matching the event, or None when the event is not a touchpoint.

        `type` is the Segment message type, `event_name` the track event (or page name),
        `page_path` the page's path without query string, and `is_landing` whether the event is
        the first page of its session.
        """
        for rule in self._by_type.get(type, self._untyped):
            if rule.holds(event_name, page_path, is_landing):
                return rule.result
        return None


def touchpoint_label(touchpoint: str) -> str:
    """A touchpoint's name for people: "pricing_check" → "Pricing check"."""
    return touchpoint.replace("_", " ").capitalize()


def preset_funnels(rules: list[JourneyRule]) -> tuple[FunnelPreset, ...]:
    """One preset per conversion touchpoint, from rules that declare no `funnels`: any page, the
    first consideration touchpoint, the first other decision touchpoint, then the conversion."""
    firsts: dict[str, str] = {}
    for rule in rules:
        if not rule.conversion:
            firsts.setdefault(rule.stage, rule.touchpoint)
    presets = []
    seen: set[str] = set()
    for rule in rules:
        if not rule.conversion or rule.touchpoint in seen:
            continue
        seen.add(rule.touchpoint)
        middle = [firsts[stage] for stage in ("consideration", "decision") if stage in firsts]
        steps = [FunnelPresetStep(type="page", label="Visited")] + [
            FunnelPresetStep(touchpoint=name, label=touchpoint_label(name))
            for name in [*middle, rule.touchpoint]
        ]
        presets.append(
            FunnelPreset(
                id=rule.touchpoint.replace("_", "-"),
                name=f"Visit → {touchpoint_label(rule.touchpoint).lower()}",
                steps=steps,
            )
        )
    return tuple(presets)


def _describe_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def parse_journey_rules(data: Any, source: str = "<rules>") -> JourneyRules:
    """Validate already-decoded rules (a dict in the file format) and compile them.

    Raises JourneyRulesError naming `source` and every problem found.
    """
    try:
        parsed = JourneyRulesFile.model_validate(data)
    except ValidationError as error:
        raise JourneyRulesError(f"invalid journey rules in {source}:\n{_describe_errors(error)}") from error
    return JourneyRules(parsed.rules, source=source, funnels=parsed.funnels)


def load_journey_rules(path: str | Path | None = None) -> JourneyRules:
    """Load, validate and compile the journey rules at `path` (the packaged defaults when None).

    Raises JourneyRulesError when the file is missing, is not JSON or breaks the format.
    """
    if path is None:
        source = f"the packaged {DEFAULT_RULES_RESOURCE}"
        text = (
            resources.files(__package__ or "reviva.enrich")
            .joinpath(DEFAULT_RULES_RESOURCE)
            .read_text("utf-8")
        )
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise JourneyRulesError(f"journey rules file {source} does not exist") from error
        except (OSError, UnicodeDecodeError) as error:
            raise JourneyRulesError(f"journey rules file {source} cannot be read: {error}") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise JourneyRulesError(
            f"journey rules file {source} is not valid JSON: {error.msg} at {where}"
        ) from error
    return parse_journey_rules(data, source=source)


def next_stage(current_stage: str | None, matched_stage: str | None, has_converted_before: bool) -> Stage:
    """A visitor's journey stage after a touchpoint at `matched_stage`.

    Stages only move forward (awareness → consideration → decision → retention); a visitor who
    converted before this event is in retention. With neither stage known, a visitor who has
    done anything is at least aware. Raises ValueError for a stage name outside the funnel.
    """
    for stage in (current_stage, matched_stage):
        if stage is not None and stage not in STAGE_ORDER:
            raise ValueError(f"unknown journey stage {stage!r}; expected one of {', '.join(STAGES)}")
    if has_converted_before:
        return "retention"
    rank = max(STAGE_ORDER.get(current_stage or "", 0), STAGE_ORDER.get(matched_stage or "", 0))
    return STAGES[rank]
