"""``browser`` shape: listings that exist only after JavaScript runs, through scrapy-playwright.

Opens each start URL (default ``base_url``) in Chromium, waits for ``item_selector``, clicks
``load_more_selector`` until it is gone (at most ``max_load_more`` times), then hands
``page.content()`` to ``spiders.pages.browser_listing``. The page is closed on success and on error.
Needs the scrapy-playwright download handlers and the asyncio reactor (``crawler/settings.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.config import BrowserOptions
from spiders.base import MarketplaceSpider
from spiders.pages import browser_listing


async def load_all(page: Any, options: BrowserOptions) -> tuple[str, int]:
    """Wait for items, click "load more" until it is gone; returns (HTML, clicks)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    await page.wait_for_selector(options.item_selector, timeout=options.wait_timeout_ms)
    clicks = 0
    while clicks < options.max_load_more:
        button = await page.query_selector(options.load_more_selector)
        if button is None or not await button.is_visible():
            break
        before = await page.locator(options.item_selector).count()
        await button.click()
        clicks += 1
        try:
            await page.wait_for_function(
                "([sel, n, more]) => document.querySelectorAll(sel).length > n || !document.querySelector(more)",
                arg=[options.item_selector, before, options.load_more_selector],
                timeout=options.wait_timeout_ms,
            )
        except PlaywrightTimeout:
            break
    return await page.content(), clicks


class BrowserSpider(MarketplaceSpider):
    name = "browser"
    shape = "browser"

    async def start(self) -> AsyncIterator[Any]:
        for url in self.marketplace.start_urls or [self.marketplace.base_url]:
            yield scrapy.Request(
                url,
                callback=self.parse_listing,
                errback=self.close_page,
                meta={"playwright": True, "playwright_include_page": True},
            )

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        page = response.meta["playwright_page"]
        try:
            html, clicks = await load_all(page, self.marketplace.browser)
        finally:
            await page.close()
        self.count("load_more_clicks", clicks)
        for offer in browser_listing.extract_offers(html, response.url, self.marketplace):
            yield offer

    async def close_page(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]  # Scrapy sets it on errback failures
        page = request.meta.get("playwright_page")
        if page is not None:
            await page.close()
        self.count("browser_errors")
        self.logger.error("browser page failed: %s: %s", request.url, failure.value)
