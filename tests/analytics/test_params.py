"""The shared parameter parsers: type, form and range checked before anything is computed."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviva.analytics.errors import InvalidParameter
from reviva.analytics.params import (
    EARLIEST_DAY,
    LATEST_DAYS_AHEAD,
    MAX_BODY_BYTES,
    MAX_BODY_DEPTH,
    check_text_parameters,
    day_bounds,
    parse_choice,
    parse_day,
    parse_int,
    parse_json_body,
    parse_page,
    parse_range,
    parse_step,
)

TODAY = date(2026, 11, 12)
LATEST = TODAY + timedelta(days=LATEST_DAYS_AHEAD)


def _refused(call: Any, *args: Any, **kwargs: Any) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as raised:
        call(*args, **kwargs)
    assert raised.value.reason
    return raised.value


def test_days_are_bounded_to_a_documented_range() -> None:
    assert day_bounds(TODAY) == (date(2000, 1, 1), LATEST)
    assert parse_day("to", EARLIEST_DAY.isoformat(), TODAY, today=TODAY) == EARLIEST_DAY
    assert parse_day("to", LATEST.isoformat(), TODAY, today=TODAY) == LATEST
    for raw in ("1999-12-31", (LATEST + timedelta(days=1)).isoformat(), "0001-01-03", "9999-12-31"):
        assert _refused(parse_day, "to", raw, TODAY, today=TODAY).parameter == "to"


@pytest.mark.parametrize(
    "query",
    [{"to": "0001-01-03"}, {"from": "9999-12-31", "to": "9999-12-31"}, {"from": "0001-01-01"}],
)
def test_a_range_near_the_calendars_ends_is_refused_before_any_arithmetic(query: dict[str, str]) -> None:
    assert _refused(parse_range, query, TODAY).parameter in query


FULLWIDTH_DAY = "\uff12\uff10\uff12\uff16-01-01"


@pytest.mark.parametrize("raw", ["2026-W01-1", "20260101xx", FULLWIDTH_DAY, "2026-1-01 ", "2026-01-1"])
def test_days_are_strictly_year_month_day(raw: str) -> None:
    assert _refused(parse_day, "from", raw, TODAY, today=TODAY).parameter == "from"


@pytest.mark.parametrize("raw", [20261101, ["2026-11-01"], {"day": "2026-11-01"}, True, 1.5])
def test_a_day_of_another_json_type_is_refused(raw: object) -> None:
    assert _refused(parse_day, "from", raw, TODAY, today=TODAY).parameter == "from"


@pytest.mark.parametrize("raw", [["channel"], {"channel": 1}, 1, True])
def test_a_choice_of_another_json_type_is_refused(raw: object) -> None:
    choices = ("channel", "country")
    assert _refused(parse_choice, {"breakdown": raw}, "breakdown", choices, None).parameter == "breakdown"


@pytest.mark.parametrize("raw", ["²", "١٢", "1_0", " 1", "1e3", "9" * 5000])
def test_integers_are_ascii_digits(raw: str) -> None:
    assert _refused(parse_int, {"limit": raw}, "limit", 50, 1, 1000).parameter == "limit"


@pytest.mark.parametrize("raw", ["pricing_check\n", "é", "\ud800", ["pricing"], "x" * 101])
def test_steps_are_matched_whole(raw: object) -> None:
    assert _refused(parse_step, "from_step", raw).parameter == "from_step"


@pytest.mark.parametrize("cursor", ["\ud800", "é", "###", "bzo=" * 3000])
def test_a_broken_cursor_is_refused(cursor: str) -> None:
    assert _refused(parse_page, {"cursor": cursor}).parameter == "cursor"


def test_a_json_body_is_parsed() -> None:
    assert parse_json_body('{"steps": [{"event": "Booking Submitted"}]}') == {
        "steps": [{"event": "Booking Submitted"}]
    }
    assert parse_json_body(None) is None and parse_json_body("") is None


@pytest.mark.parametrize(
    ("text", "parameter"),
    [
        ("{not json", "body"),
        ("[" * 100_000 + "]" * 100_000, "body"),  # beyond the size bound
        ("[" * 30_000 + "]" * 30_000, "body"),  # within it, but beyond the parser's recursion
        ('{"steps": ' + "[" * (MAX_BODY_DEPTH + 1) + "]" * (MAX_BODY_DEPTH + 1) + "}", "steps"),
        (json.dumps({"steps": [{"event": "\ud800"}, {"type": "page"}]}), "steps[0].event"),
        (json.dumps({"steps": [{"\udfff": "page"}]}), "steps[0].\\udfff"),
        (json.dumps(["\ud800"]), "body[0]"),
        (json.dumps({"steps": "x" * MAX_BODY_BYTES}), "body"),
        (json.dumps({"steps": "é" * (MAX_BODY_BYTES // 2)}), "body"),
    ],
)
def test_a_bad_json_body_names_where_it_is_bad(text: str, parameter: str) -> None:
    error = _refused(parse_json_body, text)
    assert error.parameter.startswith(parameter)


@settings(max_examples=60, deadline=None)
@given(depth=st.integers(0, 3000), opener=st.sampled_from(["[", '{"a":']))
def test_no_nesting_escapes_as_anything_but_a_bad_body(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" + closer * depth
    if depth <= MAX_BODY_DEPTH:
        assert parse_json_body(text) is not None
    else:
        assert _refused(parse_json_body, text).parameter


def test_query_and_path_values_must_be_unicode_text() -> None:
    check_text_parameters({"from": "2026-11-01", "visitor_id": "é"})
    assert _refused(check_text_parameters, {"from_step": "\ud800"}).parameter == "from_step"
    assert _refused(check_text_parameters, {"": "\ud800"}).parameter == "query"
    assert _refused(check_text_parameters, {"\ud800": "x"}).parameter == "\\ud800"
