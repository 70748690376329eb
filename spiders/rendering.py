"""Driving a rendered page (a Playwright ``Page``) for the field-map engine: the map's actions (wait for a
selector, click, type into a search box, scroll), a "load more" button or infinite scroll until nothing
new comes (bounded by ``max_pages``), and the capture of the page's own XHR/fetch JSON responses.

Used by the spider (through scrapy-playwright) and by the probe of ``bijia marketplaces add``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.fieldmap_config import Action, Pagination, Render, is_xpath

POLL_SECONDS = 0.05
SCROLL_TO_BOTTOM = "window.scrollTo(0, document.body.scrollHeight)"


@dataclass
class Capture:
    """Keeps the bodies of the page's XHR/fetch responses whose URL matches ``pattern`` (any JSON one
    when ``pattern`` is ``None``: the probe wants to see them all)."""

    pattern: re.Pattern[str] | None
    responses: list[tuple[str, bytes]] = field(default_factory=list)
    failures: int = 0

    async def on_response(self, response: Any) -> None:
        if response.request.resource_type not in ("xhr", "fetch"):
            return
        if self.pattern is not None and not self.pattern.search(response.url):
            return
        if self.pattern is None and "json" not in (response.headers.get("content-type") or ""):
            return
        try:
            self.responses.append((response.url, await response.body()))
        except Exception:  # noqa: BLE001 (the page navigated away or closed: that response is lost)
            self.failures += 1


@dataclass
class Rendered:
    html: str
    loads: int
    """Clicks of "load more" or scrolls that brought new items."""


async def grew(
    count: Callable[[], Awaitable[int]],
    before: int,
    wait_ms: int,
    gone: Callable[[], Awaitable[bool]] | None = None,
) -> bool:
    """Whether ``count()`` rises above ``before`` within ``wait_ms``; waiting stops early when ``gone()``
    says the page has nothing more to load (the "load more" button removed after the last page)."""
    deadline = time.monotonic() + wait_ms / 1000
    while time.monotonic() < deadline:
        if await count() > before:
            return True
        if gone is not None and await gone():
            return await count() > before
        await asyncio.sleep(POLL_SECONDS)
    return False


async def run_action(page: Any, action: Action, timeout_ms: int) -> None:
    if action.wait is not None:
        await page.wait_for_selector(action.wait, timeout=timeout_ms)
    elif action.click is not None:
        await page.click(action.click, timeout=timeout_ms)
    elif action.type is not None:
        await page.fill(action.type, action.text or "", timeout=timeout_ms)
        if action.press:
            await page.press(action.type, action.press, timeout=timeout_ms)
    elif action.scroll is not None:
        for _ in range(action.scroll):
            await page.evaluate(SCROLL_TO_BOTTOM)
            await asyncio.sleep(0.2)
    elif action.sleep_ms is not None:
        await asyncio.sleep(action.sleep_ms / 1000)


async def load_pages(
    page: Any, pagination: Pagination, count: Callable[[], Awaitable[int]], limit: int
) -> int:
    """Click "load more" or scroll to the bottom until no new items come or ``limit`` pages are shown;
    returns the number of loads that brought items."""
    loads = 0
    gone = _button_gone(page, pagination.button) if pagination.kind == "load_more" else None
    while loads + 1 < limit:
        before = await count()
        if pagination.kind == "load_more":
            button = await page.query_selector(pagination.button or "")
            if button is None or not await button.is_visible():
                break
            await button.click()
        else:
            await page.evaluate(SCROLL_TO_BOTTOM)
        if not await grew(count, before, pagination.wait_ms, gone):
            break
        loads += 1
    return loads


def _button_gone(page: Any, selector: str | None) -> Callable[[], Awaitable[bool]]:
    async def gone() -> bool:
        return await page.query_selector(selector or "") is None

    return gone


async def render_listing(
    page: Any, render: Render, pagination: Pagination | None, count: Callable[[], Awaitable[int]], limit: int
) -> Rendered:
    """Run the map's actions on ``page``, then its "load more"/scroll pagination; the HTML at the end."""
    if render.wait_for:
        await page.wait_for_selector(render.wait_for, timeout=render.timeout_ms)
    for action in render.actions:
        await run_action(page, action, render.timeout_ms)
    if not await count():
        await grew(count, 0, render.timeout_ms)
    loads = 0
    if pagination is not None and pagination.kind in ("load_more", "scroll"):
        loads = await load_pages(page, pagination, count, limit)
    return Rendered(await page.content(), loads)


def item_counter(page: Any, selector: str | None, capture: Capture | None) -> Callable[[], Awaitable[int]]:
    """What "more items" means: more captured responses, or more elements matching the item selector."""

    async def captured() -> int:
        return len(capture.responses) if capture is not None else 0

    locator = f"xpath={selector}" if selector and is_xpath(selector) else selector

    async def elements() -> int:
        return int(await page.locator(locator).count()) if locator else 0

    return captured if capture is not None else elements
