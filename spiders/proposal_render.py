"""The probe's last resort (``bijia marketplaces add`` on a page whose items only exist after JavaScript
runs): open the page in Chromium, keep the JSON responses of its own XHR/fetch requests, scroll, and
propose a map from that JSON (with a capture rule) or from the rendered HTML's repeated price blocks.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlsplit

from crawler.browser import launch_options
from spiders.pages.embedded import NotJson, parse_json
from spiders.proposal import propose_json
from spiders.proposal_dom import propose_dom
from spiders.rendering import SCROLL_TO_BOTTOM, Capture, grew
from spiders.shape import Found

LOAD_MORE = re.compile(r"加载更多|查看更多|更多商品|load more|show more", re.I)
SCROLLS = 2


async def _render(url: str, timeout_ms: int) -> tuple[str, list[tuple[str, Any]], int, str | None]:
    """(rendered HTML, captured JSON responses, how many came after scrolling, a "load more" selector)."""
    from playwright.async_api import async_playwright

    capture = Capture(None)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**launch_options())
        try:
            page = await browser.new_page()
            page.on("response", capture.on_response)
            await page.goto(url, wait_until="load", timeout=timeout_ms)
            await grew(_count(capture), 0, min(timeout_ms, 3000))
            before = len(capture.responses)
            for _ in range(SCROLLS):
                await page.evaluate(SCROLL_TO_BOTTOM)
                await grew(_count(capture), len(capture.responses), 1500)
            after = len(capture.responses) - before
            button = await _load_more(page)
            html = await page.content()
        finally:
            await browser.close()
    captured = []
    for response_url, body in capture.responses:
        try:
            captured.append((response_url, parse_json(body.decode("utf-8", "replace"))))
        except NotJson:
            continue
    return html, captured, after, button


def _count(capture: Capture) -> Any:
    async def count() -> int:
        return len(capture.responses)

    return count


async def _load_more(page: Any) -> str | None:
    for handle in await page.query_selector_all("button, a"):
        text = (await handle.inner_text()).strip()
        if text and LOAD_MORE.search(text) and await handle.is_visible():
            classes = [
                c
                for c in ((await handle.get_attribute("class")) or "").split()
                if c.isidentifier() or "-" in c
            ]
            tag = await handle.evaluate("el => el.tagName.toLowerCase()")
            return f"{tag}.{classes[0]}" if classes else f"//{tag}[contains(., '{text[:8]}')]"
    return None


def propose_rendered(url: str, timeout: float = 15.0) -> Found | None:
    """A ``fieldmap`` proposal for a JavaScript-rendered listing; ``None`` when nothing item-like shows."""
    html, captured, scrolled, button = asyncio.run(_render(url, int(timeout * 1000)))
    best = None
    for response_url, data in captured:
        proposal = propose_json(data)
        if proposal is not None and (best is None or proposal.count > best[1].count):
            best = (response_url, proposal)
    pagination: dict[str, Any] | None = None
    if button:
        pagination = {"kind": "load_more", "button": button}
    elif scrolled:
        pagination = {"kind": "scroll"}
    if best is not None:
        response_url, proposal = best
        render = {"capture": re.escape(urlsplit(response_url).path)}
        entry = {"format": "json", "items": proposal.items, "render": render, "fields": proposal.fields}
        notes = [f"rendered in Chromium: {proposal.count} items in the JSON it fetched from {response_url}"]
        return _found(entry, pagination, notes, proposal.examples)
    dom = propose_dom(html)
    if dom is None or "price" not in dom.fields:
        return None
    entry = {"items": dom.items, "render": {"wait_for": dom.items}, "fields": dom.fields}
    notes = [f"rendered in Chromium: {dom.count} repeated blocks with prices ({dom.items})"]
    return _found(entry, pagination, notes, dom.examples)


def _found(
    entry: dict[str, Any], pagination: dict[str, Any] | None, notes: list[str], examples: dict[str, str]
) -> Found:
    if pagination:
        entry["pagination"] = pagination
    return Found("fieldmap", notes, {"map": entry}, {f"fields.{k}": v for k, v in examples.items()})
