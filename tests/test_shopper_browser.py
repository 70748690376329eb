"""The storefront's shopper panels in a real headless Chromium under a strict Content-Security-Policy:
the nearest-store choice for the product shown, and the cheapest basket. Screenshots in the test's tmp dir."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from pathlib import Path

import pytest

from api.app import create_app
from crawler.browser import launch_options
from storage.snapshots import publish
from tests.shopper_data import build_shopper_db
from tests.test_api_data import run_server, stop_server

pytestmark = pytest.mark.browser


def strict_csp() -> str:
    """No inline code but the page's own two blocks (by hash), nothing from another origin."""
    page = resources.files("api").joinpath("static/index.html").read_text(encoding="utf-8")

    def hashes(tag: str) -> str:
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
        return " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in blocks
        )

    return (
        f"default-src 'none'; script-src 'self' {hashes('script')}; style-src 'self' {hashes('style')}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("shopper-page")
    publish(build_shopper_db(root / "working.duckdb"), root / "snaps")
    app = create_app(root / "snaps")
    policy = strict_csp()

    @app.middleware("http")
    async def csp(request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = policy
        return response

    server, thread, url = run_server(app)
    yield url
    stop_server(server, thread)


def test_nearby_choice_and_basket_under_a_strict_csp(base: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None,
            )
            page.on(
                "response",
                lambda r: errors.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
            )
            page.goto(base + "/#product=p_milk")
            page.wait_for_selector(".shopper-choice.shopper-best")
            best = page.locator(".shopper-choice.shopper-best").inner_text()
            assert "闪电到家·国贸店" in best and "¥65.00" in best
            assert "¥7.00 more than the cheapest, arrives in 30 分钟 instead of 2 days" in best
            assert page.locator(".shopper-offer").count() == 3  # the Shanghai store is out of range
            page.screenshot(path=str(tmp_path / "nearby-beijing.png"), full_page=True)

            page.click("text=上海 陆家嘴")
            page.wait_for_selector(".shopper-best:has-text('陆家嘴')")  # no eval: the CSP forbids it
            page.select_option("#shopper-sort", "price")
            page.wait_for_selector(".shopper-offer:first-child .shopper-where:has-text('jingxuan')")

            page.click("#shopper-add")
            page.goto(base + "/?again#product=p_cable")  # a new page load (the basket is in localStorage)
            page.wait_for_selector(".shopper-choice.shopper-best")
            page.click("#shopper-add")
            page.click("#shopper-add")
            assert page.locator(".shopper-item-title").all_inner_texts() == [
                "伊利 纯牛奶 250ml×12",
                "绿联 USB-C 数据线",
            ]
            assert page.locator(".shopper-qty").nth(1).input_value() == "2"
            page.locator(".shopper-qty").nth(0).fill("2")
            page.locator(".shopper-qty").nth(0).press("Tab")
            page.click("#shopper-plan")
            page.wait_for_selector("#shopper-total")
            plan = page.locator("#shopper-plan-result").inner_text()
            # Shanghai: two milks at the 陆家嘴 store (2 × 55 + 4, not 2 × 58 包邮 online); two cables at
            # jingxuan (29 + 14.50 第二件半价 + 6)
            assert "闪电到家·陆家嘴店 · ¥114.00" in plan and "合计 Total ¥163.50" in plan
            page.screenshot(path=str(tmp_path / "basket.png"), full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(tmp_path / "basket-phone.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
