"""Per-event facts: whatever a page's URL or a property holds, the facts are derived, never an error."""

from __future__ import annotations

import pytest

from reviva.enrich.event_facts import describe_event
from tests.enrich.builders import event


@pytest.mark.parametrize("url", ["https://[x/", "http://[::1", "https://\uff03x/"])
def test_an_unparsable_page_url_gives_facts_without_host_or_path(url: str) -> None:
    page = event("v1")
    page.context["page"] = {"url": url}
    facts = describe_event(page)
    assert facts.page_url == url
    assert facts.page_path is None
    assert facts.traffic.referrer_host is None


@pytest.mark.parametrize("revenue", [10**400, -(10**309), "1e999", float("inf"), "abc", [1], True])
def test_revenue_that_is_no_amount_is_none(revenue: object) -> None:
    facts = describe_event(event("v1", kind="track", name="Order Completed", properties={"revenue": revenue}))
    assert facts.revenue is None


def test_revenue_that_is_an_amount_is_kept() -> None:
    facts = describe_event(event("v1", kind="track", name="Order Completed", properties={"revenue": "129.5"}))
    assert facts.revenue == 129.5
