"""The base of every bijia spider: configured by one ``Marketplace`` passed as a spider kwarg.

``crawler.crawl(SpiderCls, marketplace=m)`` (a ``Marketplace``, a dict, or a marketplace name from the
bundled file). The marketplace's politeness (``concurrency``, ``delay``, ``obey_robots``) becomes this
crawler's settings in ``from_crawler``, before Scrapy freezes them.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar, Self

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings

from core.encoding import choose_encoding, to_text
from crawler.config import Marketplace, load_marketplaces
from crawler.middlewares import EncodingMiddleware, RetryAfterMiddleware


def as_marketplace(value: Marketplace | dict | str | None) -> Marketplace:
    if isinstance(value, Marketplace):
        return value
    if isinstance(value, dict):
        return Marketplace.model_validate(value)
    if isinstance(value, str):
        return load_marketplaces(only=[value])[0]
    raise ValueError("a bijia spider needs marketplace=<Marketplace | dict | name>")


class MarketplaceSpider(scrapy.Spider):
    shape: ClassVar[str]
    marketplace: Marketplace

    def __init__(self, marketplace: Marketplace | dict | str | None = None, **kwargs: Any) -> None:
        m = as_marketplace(marketplace)
        if m.shape != self.shape:
            raise ValueError(f"marketplace {m.name!r} has shape {m.shape!r}, not {self.shape!r}")
        super().__init__(name=m.name, **kwargs)
        self.marketplace = m

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", RetryAfterMiddleware, 560)
        settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", EncodingMiddleware, 580)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        apply_politeness(crawler.settings, spider.marketplace)
        return spider

    def page_allowed(self, page: int) -> bool:
        """``max_pages`` bounds each walk (category pages, API pages, sitemaps); a page past it is counted
        (``crawler.limits``), and without ``max_pages`` ``crawler.guards`` applies the default cap."""
        limit = self.marketplace.max_pages
        if limit is not None and page > limit:
            self.count("limits/max_pages")
            return False
        return True

    @staticmethod
    def page_text(response: Response) -> str:
        """The page as text: Scrapy's decoding, unless it had to guess (see ``EncodingMiddleware``)."""
        if not isinstance(response, TextResponse):
            return response.body.decode("utf-8", "replace")
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        chosen = choose_encoding(response.body, content_type)
        if codecs.lookup(chosen).name == codecs.lookup(response.encoding).name:
            return response.text
        return to_text(response.body, f"text/html; charset={chosen}")

    def count(self, key: str, n: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"bijia/{key}", n)


class PagedApiSpider(MarketplaceSpider):
    """A JSON shop API walked from page 1 (``page_url``); each shape's ``parse_page`` decides what follows."""

    def page_url(self, page: int) -> str:
        raise NotImplementedError

    def parse_page(self, response: Response, page: int) -> Any:
        raise NotImplementedError

    def page_request(self, page: int) -> scrapy.Request:
        return scrapy.Request(self.page_url(page), callback=self.parse_page, cb_kwargs={"page": page})

    async def start(self) -> AsyncIterator[Any]:
        yield self.page_request(1)


def apply_politeness(settings: BaseSettings, m: Marketplace) -> None:
    """The marketplace's politeness keys as this crawler's settings (a run's command-line settings win)."""
    if settings.frozen:
        return
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", m.concurrency, priority="spider")
    settings.set("DOWNLOAD_DELAY", m.delay, priority="spider")
    settings.set("ROBOTSTXT_OBEY", m.obey_robots, priority="spider")
    settings.set("AUTOTHROTTLE_ENABLED", m.autothrottle, priority="spider")
    settings.set("AUTOTHROTTLE_TARGET_CONCURRENCY", float(m.concurrency), priority="spider")
    if m.user_agent:
        settings.set("USER_AGENT", m.user_agent, priority="spider")
    if m.http_cache:
        settings.set("HTTPCACHE_ENABLED", True, priority="spider")
    if settings.getbool("HTTPCACHE_ENABLED") and settings.get("HTTPCACHE_DIR"):
        directory = Path(settings["HTTPCACHE_DIR"])
        if not directory.is_absolute():  # Scrapy would put it under .scrapy/
            settings.set(
                "HTTPCACHE_DIR",
                str(directory.resolve()),
                priority=max(settings.getpriority("HTTPCACHE_DIR") or 0, 30),
            )
