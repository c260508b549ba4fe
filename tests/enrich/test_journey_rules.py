"""Journey rules: the packaged defaults, operator files, validation errors and stage progression."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reviva.enrich.journey_rules import (
    JourneyMatch,
    JourneyRules,
    JourneyRulesError,
    load_journey_rules,
    next_stage,
    parse_journey_rules,
)


@pytest.fixture(scope="module")
def default_rules() -> JourneyRules:
    return load_journey_rules(None)


# (type, event name, page path, is_landing, expected (touchpoint, stage, conversion) or None)
DEFAULT_CASES: list[tuple[str, str | None, str | None, bool, tuple[str, str, bool] | None]] = [
    ("track", "Pricing Viewed", "/services/screens", False, ("pricing_check", "consideration", False)),
    ("track", "Service Compared", None, False, ("service_compare", "consideration", False)),
    ("track", "Contact Info Viewed", "/", False, ("contact_info_view", "decision", False)),
    ("track", "Booking Started", "/book", False, ("booking_start", "decision", False)),
    ("track", "Booking Submitted", "/book/confirm", False, ("booking_submitted", "decision", True)),
    ("track", "booking submitted", None, False, ("booking_submitted", "decision", True)),  # case-insensitive
    ("track", "Order Completed", "/book", False, None),  # tracks never fall through to page rules
    ("track", None, "/pricing", False, None),
    ("page", None, "/pricing", False, ("pricing_check", "consideration", False)),
    ("page", "Pricing", "/pricing/iphone-15", False, ("pricing_check", "consideration", False)),
    ("page", None, "/services", False, ("service_browse", "awareness", False)),
    ("page", None, "/services/battery-replacement", True, ("service_browse", "awareness", False)),
    ("page", None, "/book", False, ("booking_page", "decision", False)),
    ("page", None, "/booking/step-2", False, ("booking_page", "decision", False)),
    ("page", None, "/contact", False, ("contact_page", "decision", False)),
    # The demo storefront's pages (served under /demo/ by `reviva dev`).
    ("page", None, "/demo/book.html", False, ("booking_page", "decision", False)),
    ("page", None, "/demo/", False, ("home_page", "awareness", False)),
    ("page", None, "/demo/", True, ("landing_page", "awareness", False)),
    ("page", None, "/about", True, ("landing_page", "awareness", False)),  # the first page of a session
    ("page", None, "/", True, ("landing_page", "awareness", False)),
    ("page", None, "/", False, ("home_page", "awareness", False)),
    ("page", None, "/about", False, None),
    ("page", None, None, False, None),
    ("identify", None, None, False, None),
    ("unknown-type", "Booking Submitted", "/book", False, None),
]


@pytest.mark.parametrize(("kind", "event_name", "path", "is_landing", "expected"), DEFAULT_CASES)
def test_default_rules(
    default_rules: JourneyRules,
    kind: str,
    event_name: str | None,
    path: str | None,
    is_landing: bool,
    expected: tuple[str, str, bool] | None,
) -> None:
    match = default_rules.match(kind, event_name, path, is_landing=is_landing)
    assert match == (JourneyMatch(*expected) if expected else None)  # type: ignore[arg-type]


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_operator_file_replaces_the_defaults_and_first_match_wins(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "version": 1,
            "rules": [
                {
                    "match": {"path": "/pricing/enterprise*"},
                    "touchpoint": "enterprise_quote",
                    "stage": "decision",
                },
                {
                    "match": {"type": "page", "path": "/pricing*"},
                    "touchpoint": "pricing_check",
                    "stage": "consideration",
                },
                {"match": {"event": "Review *"}, "touchpoint": "review", "stage": "retention"},
                {
                    "match": {"type": "screen", "event": "Checkout?"},
                    "touchpoint": "app_checkout",
                    "stage": "decision",
                },
            ],
        },
    )
    rules = load_journey_rules(path)
    assert len(rules) == 4
    assert rules.match("page", None, "/pricing/enterprise/form") == JourneyMatch(
        "enterprise_quote", "decision", False
    )
    assert rules.match("page", None, "/pricing") == JourneyMatch("pricing_check", "consideration", False)
    assert rules.match("track", "Review Left", None) == JourneyMatch("review", "retention", False)
    assert rules.match("screen", "Checkout2", None) == JourneyMatch("app_checkout", "decision", False)
    assert rules.match("screen", "Checkout22", None) is None  # globs match the whole value
    assert rules.match("track", "Booking Submitted", None) is None  # the defaults are gone


def test_glob_characters_are_not_regular_expressions() -> None:
    rules = parse_journey_rules(
        {"rules": [{"match": {"path": "/a.b/(x)+"}, "touchpoint": "literal", "stage": "awareness"}]}
    )
    assert rules.match("page", None, "/a.b/(x)+") is not None
    assert rules.match("page", None, "/aXb/xx") is None


def test_path_may_be_given_as_a_string(tmp_path: Path) -> None:
    path = _write(
        tmp_path, {"rules": [{"match": {"type": "page"}, "touchpoint": "any_page", "stage": "awareness"}]}
    )
    assert load_journey_rules(str(path)).match("page", None, None) == JourneyMatch(
        "any_page", "awareness", False
    )


@pytest.mark.parametrize(
    ("content", "message_parts"),
    [
        ("{not json", ["not valid JSON", "line 1 column 2"]),
        ([], ["(top level)"]),
        ({"rules": [{"match": {"type": "page"}, "touchpoint": "x"}]}, ["rules.0.stage", "Field required"]),
        (
            {"rules": [{"match": {"type": "page"}, "touchpoint": "x", "stage": "interest"}]},
            ["rules.0.stage", "'awareness', 'consideration', 'decision' or 'retention'"],
        ),
        (
            {"rules": [{"match": {}, "touchpoint": "x", "stage": "awareness"}]},
            ["rules.0.match", "at least one"],
        ),
        (
            {"rules": [{"match": {"path": "pricing*"}, "touchpoint": "x", "stage": "awareness"}]},
            ["rules.0.match.path", "starts with '/' or '*'"],
        ),
        (
            {"rules": [{"match": {"type": "pageview"}, "touchpoint": "x", "stage": "awareness"}]},
            ["rules.0.match.type"],
        ),
        (
            {"rules": [{"match": {"type": "page", "url": "/x"}, "touchpoint": "x", "stage": "awareness"}]},
            ["rules.0.match.url", "Extra inputs are not permitted"],
        ),
        (
            {"rules": [{"match": {"type": "page"}, "touchpoint": "Pricing Check", "stage": "awareness"}]},
            ["rules.0.touchpoint"],
        ),
        ({"version": 2, "rules": []}, ["version"]),
        (
            {
                "rules": [
                    {"match": {"path": "/pricing"}, "touchpoint": "pricing_check", "stage": "consideration"},
                    {
                        "match": {"event": "Pricing Viewed"},
                        "touchpoint": "pricing_check",
                        "stage": "decision",
                    },
                ]
            },
            ["'pricing_check' has stage 'consideration' in rule 0 and 'decision' in rule 1"],
        ),
    ],
)
def test_bad_files_give_a_clear_error(tmp_path: Path, content: Any, message_parts: list[str]) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(JourneyRulesError) as raised:
        load_journey_rules(path)
    message = str(raised.value)
    assert str(path) in message
    for part in message_parts:
        assert part in message


def test_missing_file_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JourneyRulesError, match="does not exist"):
        load_journey_rules(tmp_path / "nope.json")


def test_empty_rule_list_means_no_touchpoints() -> None:
    rules = parse_journey_rules({"version": 1, "rules": []})
    assert rules.match("track", "Booking Submitted", "/book") is None


@pytest.mark.parametrize(
    ("current", "matched", "converted_before", "expected"),
    [
        (None, "awareness", False, "awareness"),
        (None, "decision", False, "decision"),  # a visitor may enter the funnel anywhere
        (None, None, False, "awareness"),
        ("awareness", "consideration", False, "consideration"),
        ("consideration", "decision", False, "decision"),
        ("decision", "awareness", False, "decision"),  # never backwards
        ("consideration", "awareness", False, "consideration"),
        ("decision", None, False, "decision"),
        ("decision", "decision", True, "retention"),  # came back after converting
        ("awareness", "awareness", True, "retention"),
        (None, "awareness", True, "retention"),
        ("retention", "awareness", False, "retention"),
        ("awareness", "retention", False, "retention"),
    ],
)
def test_next_stage(current: str | None, matched: str | None, converted_before: bool, expected: str) -> None:
    assert next_stage(current, matched, converted_before) == expected


@pytest.mark.parametrize(("current", "matched"), [("interest", "awareness"), ("awareness", "Decision")])
def test_next_stage_rejects_unknown_stages(current: str, matched: str) -> None:
    with pytest.raises(ValueError, match="unknown journey stage"):
        next_stage(current, matched, False)


def test_the_default_presets_name_touchpoints_of_the_rules(default_rules: JourneyRules) -> None:
    touchpoints = {rule.touchpoint for rule in default_rules.rules}
    assert [preset.id for preset in default_rules.funnels] == ["booking", "compare", "services"]
    booking = default_rules.funnels[0]
    assert [step.step() for step in booking.steps] == [
        {"type": "page"},
        {"touchpoint": "pricing_check"},
        {"touchpoint": "booking_start"},
        {"touchpoint": "booking_submitted"},
    ]
    for preset in default_rules.funnels:
        assert all(step.touchpoint in touchpoints for step in preset.steps if step.touchpoint)


def test_presets_are_derived_from_the_conversions_when_the_file_declares_none() -> None:
    rules = parse_journey_rules(
        {
            "rules": [
                {
                    "match": {"event": "Order Paid"},
                    "touchpoint": "order_paid",
                    "stage": "decision",
                    "conversion": True,
                },
                {"match": {"path": "/cart*"}, "touchpoint": "cart", "stage": "decision"},
                {"match": {"path": "/shop*"}, "touchpoint": "shop", "stage": "awareness"},
                {"match": {"path": "/compare*"}, "touchpoint": "compare", "stage": "consideration"},
            ]
        }
    )
    (preset,) = rules.funnels
    assert (preset.id, preset.name) == ("order-paid", "Visit → order paid")
    assert [step.step() for step in preset.steps] == [
        {"type": "page"},
        {"touchpoint": "compare"},
        {"touchpoint": "cart"},
        {"touchpoint": "order_paid"},
    ]
    assert [step.label for step in preset.steps] == ["Visited", "Compare", "Cart", "Order paid"]


@pytest.mark.parametrize(
    ("funnel", "message"),
    [
        (
            {
                "id": "x",
                "name": "X",
                "steps": [{"touchpoint": "nowhere", "label": "A"}, {"type": "page", "label": "B"}],
            },
            "no rule has",
        ),
        (
            {
                "id": "x",
                "name": "X",
                "steps": [{"type": "page", "url": "/a", "label": "A"}, {"type": "page", "label": "B"}],
            },
            "exactly one of",
        ),
        ({"id": "x", "name": "X", "steps": [{"type": "page", "label": "A"}]}, "at least 2"),
    ],
)
def test_bad_preset_funnels_give_a_clear_error(funnel: dict[str, Any], message: str) -> None:
    rules = [{"match": {"path": "/"}, "touchpoint": "home", "stage": "awareness"}]
    with pytest.raises(JourneyRulesError, match=message):
        parse_journey_rules({"rules": rules, "funnels": [funnel]})
