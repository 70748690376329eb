"""The HTML page in a real headless Chromium, at desktop and phone (390 px) widths, under a strict
Content-Security-Policy: search, no results, a product with its offers, images, the per-marketplace chart,
local times, shareable links that work without a reload, and no sideways scrolling on a phone.

Screenshots go to ``test-output/browser/`` (or ``$BIJIA_TEST_OUTPUT/browser``): look at them.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from crawler.browser import launch_options
from storage.snapshots import publish
from tests.test_api_data import build_working_db, run_server, stop_server

pytestmark = pytest.mark.browser
OUTPUT = (
    Path(os.environ.get("BIJIA_TEST_OUTPUT", Path(__file__).resolve().parents[1] / "test-output")) / "browser"
)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' http: https:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PNG = base64.b64decode(  # a 2x2 red PNG standing in for a shop's product photo
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


class StrictCsp:
    """The page must work under the strict policy the ops engineer's security headers set."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        async def with_csp(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", CSP.encode())]
            await send(message)

        await self.app(scope, receive, with_csp if scope["type"] == "http" else send)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("page")
    publish(build_working_db(root / "working.duckdb"), root / "snaps")
    server, thread, url = run_server(StrictCsp(create_app(root / "snaps")))
    yield url
    stop_server(server, thread)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(**launch_options())
        yield chromium
        chromium.close()


def open_page(browser: Any, size: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport=SIZES[size], locale="zh-CN", timezone_id="Asia/Shanghai")
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"error: {exc}"))
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "ip15.png" not in m.text else None,
    )
    page.route(
        "http://127.0.0.1:9/**", lambda route: route.fulfill(status=200, content_type="image/png", body=PNG)
    )
    return page, problems


def shot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def no_sideways_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_search_product_chart_and_shareable_links(base: str, browser: Any, size: str) -> None:
    page, problems = open_page(browser, size)
    try:
        page.goto(base + "/")
        page.evaluate("window.__sameDocument = true")  # gone if anything below reloads the page
        page.fill("#q", "苹果 256")
        page.press("#q", "Enter")
        page.wait_for_selector("li.result")
        assert page.locator("li.result").count() == 1 and "#q=" in page.url
        assert "¥5,799.00" in page.locator("li.result").inner_text()
        assert page.locator("li.result img.thumb").evaluate("img => img.complete && img.naturalWidth > 0")
        shot(page, f"{size}-results")
        assert no_sideways_scroll(page)
        page.click("a.product-link")
        page.wait_for_selector("#chart polyline")
        assert "#product=p_iphone15pro" in page.url and page.evaluate("window.__sameDocument") is True
        assert page.locator("#product-title").inner_text() == "Apple iPhone 15 Pro 256GB Black"
        offers = page.locator(".offer")
        assert offers.count() == 3 and "jingxuan" in offers.first.inner_text()
        text = page.locator("#offers").inner_text()
        assert "45 分钟" in text and "0.75" not in text and "朝阳门店" in text
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text)  # times shown local, not raw ISO/UTC
        assert page.locator("#chart polyline").count() == 3  # one line per marketplace …
        assert page.locator("#legend li").all_inner_texts() == ["jingxuan", "shopline", "techmall"]  # … named
        assert page.locator("#chart circle.chart-point").count() == 9
        assert "真降价" in page.locator("#product-discount").inner_text()
        assert page.locator("#product-image").is_visible()
        shot(page, f"{size}-product")
        assert no_sideways_scroll(page)
        page.go_back()
        page.wait_for_selector("li.result")
        assert (
            page.evaluate("window.__sameDocument") is True and page.locator("#q").input_value() == "苹果 256"
        )
        assert problems == []
    finally:
        page.close()


def test_no_results_unranked_offers_and_hostile_urls(base: str, browser: Any) -> None:
    page, problems = open_page(browser, "phone")
    try:
        page.goto(base + "/#q=nothing-like-this")  # a shared link opens straight on its results
        page.wait_for_selector("#no-results:not([hidden])")
        assert "nothing-like-this" in page.locator("#no-results").inner_text()
        assert page.locator("li.result").count() == 0
        shot(page, "phone-no-results")
        page.goto(base + "/#product=p_xm5")
        page.wait_for_selector(".offer.apart")
        apart = page.locator(".offer.apart").inner_text()
        assert "US$329.00" in apart and "not ranked" in apart
        page.goto(base + "/#product=p_mate60")  # same document: wait for the new product, not the old offers
        page.locator("#product-title", has_text="Mate 60").wait_for()
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        assert hrefs and not [h for h in hrefs if h.lower().startswith("javascript")]
        assert page.locator(".offer").first.locator("a").count() == 0  # its javascript: URL is no link at all
        shot(page, "phone-product-hostile-url")
        assert no_sideways_scroll(page) and problems == []
    finally:
        page.close()


def test_swagger_ui_renders_offline(base: str, browser: Any) -> None:
    page, problems = open_page(browser, "desktop")
    try:
        page.goto(base + "/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        assert "/api/v1/products" in page.locator("#swagger-ui").inner_text()
        shot(page, "desktop-docs")
    finally:
        page.close()
