"""One vocabulary: the dashboard's definitions (dashboard/src/definitions.ts) are the Definitions
table of docs/api-analytics.md, term for term and word for word."""

from __future__ import annotations

import json
import re

from tests.dashboard.conftest import ROOT

DOCS = ROOT / "docs" / "api-analytics.md"
DEFINITIONS_TS = ROOT / "dashboard" / "src" / "definitions.ts"


def _documented() -> dict[str, str]:
    section = DOCS.read_text(encoding="utf-8").split("## Definitions", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", section, re.MULTILINE))


def _in_the_dashboard() -> dict[str, str]:
    source = DEFINITIONS_TS.read_text(encoding="utf-8")
    found = {}
    for key, text in re.findall(
        r'^\s*([a-z_]+): \{\s*name: "[^"]*",\s*text: ("(?:[^"\\]|\\.)*")', source, re.MULTILINE
    ):
        found[key] = json.loads(text)
    return found


def test_the_dashboard_defines_every_documented_figure_in_the_same_words() -> None:
    documented = _documented()
    assert len(documented) >= 20
    assert _in_the_dashboard() == documented


def test_every_new_answer_field_named_for_what_it_counts_is_defined() -> None:
    documented = _documented()
    for name in (
        "conversion_events",
        "converted_sessions",
        "session_conversion_rate",
        "funnel_completion_rate",
        "entered_visitors",
        "completed_visitors",
        "reached_rate_from_start",
        "drop_off_visitors",
    ):
        assert name in documented
