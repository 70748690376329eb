"""The HTML page in a real headless Chromium: search, open a product, offers side by side, the chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import create_app
from crawler.browser import launch_options
from storage.snapshots import publish
from tests.test_api_data import build_working_db, run_server, stop_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("page")
    publish(build_working_db(root / "working.duckdb"), root / "snaps")
    server, thread, url = run_server(create_app(root / "snaps"))
    yield url
    stop_server(server, thread)


def test_search_open_product_and_chart(base: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(base + "/")
            page.fill("#q", "苹果 256")
            page.press("#q", "Enter")
            page.wait_for_selector("tr.result")
            assert page.locator("tr.result").count() == 1
            assert "¥5,799.00" in page.locator("tr.result").inner_text()
            page.click("a.product-link")
            page.wait_for_selector("#chart polyline")
            assert page.locator("#product-title").inner_text() == "Apple iPhone 15 Pro 256GB Black"
            offers = page.locator(".offer")
            assert offers.count() == 3 and "jingxuan" in offers.first.inner_text()
            assert page.locator("#chart circle.chart-point").count() == 3
            assert page.locator("#chart").bounding_box()["height"] > 100
            page.screenshot(path=str(tmp_path / "product.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
