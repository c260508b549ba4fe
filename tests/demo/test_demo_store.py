"""The demo store works as a shop's pages should, at desktop and phone widths: the booking form
goes away once sent, every button does something, no blank stretch, no horizontal scroll, a favicon."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from reviva_dev.local.runtime import RuntimeInfo

# A desktop Chrome user agent: HeadlessChrome's own is (rightly) classed as a bot.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
WIDTHS = (1440, 390)


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def shop(
    request: pytest.FixtureRequest, browser: Browser, store: RuntimeInfo
) -> Iterator[tuple[Page, list[str]]]:
    """A page at one width, and the problems it reports (console errors, failed or 4xx/5xx loads)."""
    context = browser.new_context(viewport={"width": request.param, "height": 800}, user_agent=USER_AGENT)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("requestfailed", lambda failed: problems.append(f"failed: {failed.url}"))
    page.on(
        "response",
        lambda answer: problems.append(f"{answer.status} {answer.url}") if answer.status >= 400 else None,
    )
    try:
        yield page, problems
    finally:
        context.close()


def open_page(page: Page, store: RuntimeInfo, path: str) -> None:
    page.goto(store.api_url + path)
    page.wait_for_function("window.reviva && window.reviva.delivery")
    if page.is_visible("#consent-banner"):
        page.click("#consent-analytics")


# Elements that show something even without text of their own.
_CONTROLS = "INPUT SELECT TEXTAREA BUTTON IMG SVG"


def largest_vertical_gap(page: Page) -> float:
    """The tallest stretch of the page, top to bottom, where nothing is shown (px): the space
    between visible content (text, controls), wherever empty boxes or margins put it."""
    gap: float = page.evaluate(
        """(controls) => {
          const shown = [...document.body.querySelectorAll("*")].filter((e) => {
            const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
            return (own || controls.split(" ").includes(e.tagName.toUpperCase())) && e.offsetParent !== null
              && !e.closest("#consent-banner");
          });
          const boxes = shown.map((e) => e.getBoundingClientRect())
            .map((r) => [r.top + scrollY, r.bottom + scrollY]).sort((a, b) => a[0] - b[0]);
          let gap = 0, reached = 0;
          for (const [top, bottom] of boxes) {
            gap = Math.max(gap, top - reached);
            reached = Math.max(reached, bottom);
          }
          return gap;
        }""",
        _CONTROLS,
    )
    return gap


def test_the_booking_form_hides_once_submitted(shop: tuple[Page, list[str]], store: RuntimeInfo) -> None:
    page, problems = shop
    open_page(page, store, "/demo/book.html?service=iphone-screen-repair")
    page.fill("input[name=name]", "Grace Hopper")
    page.fill("input[name=email]", "grace@example.com")
    page.click("button[type=submit]")
    page.wait_for_selector("#thanks", state="visible")
    assert page.is_hidden("#booking")
    assert page.eval_on_selector("#booking", "form => getComputedStyle(form).display") == "none"
    assert problems == []


def test_every_button_of_the_store_does_something(shop: tuple[Page, list[str]], store: RuntimeInfo) -> None:
    page, problems = shop
    open_page(page, store, "/demo/")
    # The free quote: a price range for the chosen repair, and a link to book it.
    assert page.is_hidden("#quote-panel")
    page.click("#quote")
    assert page.is_visible("#quote-panel") and page.get_attribute("#quote", "aria-expanded") == "true"
    page.select_option("#quote-panel select[name=device]", "laptops")
    page.select_option("#quote-panel select[name=repair]", "battery")
    assert page.inner_text("#quote-price") == "£79\u2013£189"
    assert page.get_attribute("#quote-book", "href") == "book.html?service=laptop-battery"
    page.select_option("#quote-panel select[name=device]", "consoles")
    page.select_option("#quote-panel select[name=repair]", "screen")
    assert page.inner_text("#quote-price") == "Not a repair we offer" and page.is_hidden("#quote-book")
    page.click("#quote")
    assert page.is_hidden("#quote-panel")
    # Promo codes.
    page.click("#promo")
    page.fill("#promo-panel input[name=code]", "nope")
    page.click("#promo-panel button[type=submit]")
    assert page.inner_text("#promo-result").startswith("That code is not valid")
    page.fill("#promo-panel input[name=code]", "firstfix")
    page.click("#promo-panel button[type=submit]")
    assert page.inner_text("#promo-result").startswith("FIRSTFIX applied")
    assert page.url.rstrip("/").endswith("/demo"), "the promo form stays on the page"
    # Prices, and the comparison behind "Compare services".
    page.click("[data-view=prices]")
    assert page.is_visible("#prices") and page.is_hidden("#services")
    page.click("[data-track=compare-services]")
    assert page.is_visible("#comparison")
    # The booking site link goes to this store under the machine's other name (another origin).
    href = page.get_attribute("#partner", "href") or ""
    assert href.endswith("/demo/book.html") and "//127.0.0.1:" in href
    assert problems == []


def test_no_blank_stretch_no_sideways_scroll_and_a_favicon(
    shop: tuple[Page, list[str]], store: RuntimeInfo
) -> None:
    page, problems = shop
    for path in ("/demo/", "/demo/?view=prices", "/demo/book.html"):
        open_page(page, store, path)
        assert largest_vertical_gap(page) < 160, path
        width: Any = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], f"{path} scrolls sideways: {width}"
        icon = page.get_attribute("link[rel=icon]", "href")
        assert icon and page.request.get(store.api_url + "/demo/" + icon).status == 200
    assert problems == []
