"""The attribution panel: spend figures (CAC, ROAS, ROI) when spend is imported, and what each model does.

Answers come from `FakeApi` in the documented shapes (tests/dashboard/documented_answers.py), with
or without imported spend; the expected cells are computed here from those answers.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.dashboard.conftest import ConsoleErrors, wait_settled
from tests.dashboard.documented_answers import (
    ATTRIBUTION_SPEND,
    ATTRIBUTION_SPLITS,
    CHANNELS,
    REVENUE_PER_CONVERSION,
    FakeApi,
)
from tests.dashboard.test_dashboard_states import open_dashboard, site

__all__ = ["site"]  # the built page behind the local gateway, shared with the state tests

MODELS = list(ATTRIBUTION_SPLITS)


def credit(channel: str) -> list[float]:
    return [ATTRIBUTION_SPLITS[model][CHANNELS.index(channel)] for model in MODELS]


def row_of(panel: Locator, name: str) -> Locator:
    return panel.locator("tbody tr").filter(has=panel.page.get_by_role("rowheader", name=name, exact=True))


def open_attribution(page: Page, site: str, api: FakeApi, width: int) -> Locator:
    page.set_viewport_size({"width": width, "height": 900})
    open_dashboard(page, site, api)
    wait_settled(page, ["attribution"])
    panel = page.locator('[data-panel="attribution"]')
    expect(panel).to_have_attribute("data-state", "ready")
    return panel


def fits_the_width(panel: Locator, width: int) -> bool:
    """The panel lies within the viewport and nothing in it sticks out (its table scrolls inside)."""
    box = panel.bounding_box()
    inside = bool(panel.evaluate("(p) => p.scrollWidth <= p.clientWidth"))
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width and inside


@pytest.mark.parametrize("width", [1440, 390])
def test_spend_adds_a_spend_column_and_cac_roas_roi(
    page: Page, site: str, console_errors: ConsoleErrors, width: int
) -> None:
    panel = open_attribution(page, site, FakeApi(spend=True), width)
    expect(panel.locator("thead th")).to_have_text(
        ["Channel", "Spend", "First touch", "Last touch", "Linear", "Time decay", "Position", "Markov"]
    )
    expect(panel).to_contain_text("£570 of ad spend imported for these dates")
    spend = ATTRIBUTION_SPEND["paid_search"]
    paid = credit("paid_search")

    panel.get_by_role("radio", name="CAC").click()
    expect(panel).to_contain_text("CAC: spend per attributed conversion")
    first = panel.locator("tbody tr").first  # sorted by spend
    expect(first.locator("th")).to_have_text("Paid search")
    expect(first.locator("td")).to_have_text([f"£{spend:,.0f}"] + [f"£{spend / c:,.2f}" for c in paid])
    # No spend imported for organic search: every figure is absent, not zero.
    expect(row_of(panel, "Organic search").locator("td")).to_have_text(["\u2013"] * (1 + len(MODELS)))
    # Paid social gets no first-touch credit: no CAC, a ROAS of 0 and an ROI of -100 %.
    social = row_of(panel, "Paid social").locator("td")
    expect(social.nth(1)).to_have_text("\u2013")
    expect(social.nth(1)).to_have_attribute("title", "No conversion credited")

    panel.get_by_role("radio", name="ROAS").click()
    roas = [c * REVENUE_PER_CONVERSION / spend for c in paid]
    expect(first.locator("td").nth(1)).to_have_text(f"{roas[0]:.2f}\u00d7")
    expect(social.nth(1)).to_have_text("0\u00d7")

    panel.get_by_role("radio", name="ROI").click()
    expect(first.locator("td").nth(1)).to_have_text(f"+{(roas[0] - 1) * 100:.0f}%")
    expect(social.nth(1)).to_have_text("\u2212100%")

    # Back to credit: the shading and the share line return.
    panel.get_by_role("radio", name="Conversions").click()
    expect(panel).to_contain_text("shading shows each row's share")
    assert fits_the_width(panel, width)
    assert console_errors.messages == []


@pytest.mark.parametrize("width", [1440, 390])
def test_without_spend_there_are_no_spend_figures_and_each_model_is_explained(
    page: Page, site: str, console_errors: ConsoleErrors, width: int
) -> None:
    panel = open_attribution(page, site, FakeApi(), width)
    expect(panel.locator("thead th")).to_have_count(1 + len(MODELS))
    for name in ("CAC", "ROAS", "ROI"):
        expect(panel.get_by_role("radio", name=name)).to_be_hidden()
    expect(panel.get_by_role("radio", name="Revenue")).to_be_visible()
    expect(panel).not_to_contain_text("ad spend")

    notes = panel.locator(".model-notes")
    expect(notes.locator("dt")).to_have_text(
        ["First touch", "Last touch", "Linear", "Time decay", "Position", "Markov"]
    )
    expect(notes.locator("dd")).to_have_count(len(MODELS))
    expect(notes).to_contain_text("first session in the 30 days before it")
    expect(notes).to_contain_text("halves for every 7 days")
    expect(notes).to_contain_text("40% to the first session, 40% to the last")
    expect(notes).to_contain_text("would be lost without the channel")
    for dd, model in zip(notes.locator("dd").all(), MODELS, strict=True):
        # The same line is the column header's tooltip.
        title = panel.locator(f'thead th[data-model="{model}"]').get_attribute("title") or ""
        assert title.endswith(dd.inner_text()), (model, title)
        box = dd.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, model
    assert fits_the_width(panel, width)
    assert console_errors.messages == []
