"""``jsonld`` shape: HTML shops with schema.org product pages.

Walks ``start_urls`` category pages (product links + ``rel=next``; Scrapy's dupefilter stops
pagination loops) or, when ``sitemap_urls`` are given, the sitemaps (a ``robots.txt`` URL there means
"the sitemaps it lists"; sitemap indexes are followed). ``max_pages`` bounds category pages / sitemaps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from core.offer import Offer
from spiders.base import MarketplaceSpider
from spiders.jsonld_probe import probe
from spiders.pages import jsonld
from spiders.shape import Shape


class JsonLdSpider(MarketplaceSpider):
    name = "jsonld"
    shape = "jsonld"

    async def start(self) -> AsyncIterator[Any]:
        m = self.marketplace
        for url in m.sitemap_urls:
            callback = self.parse_robots if url.endswith("/robots.txt") else self.parse_sitemap
            yield scrapy.Request(url, callback=callback, cb_kwargs={"page": 1})
        if not m.sitemap_urls:
            for url in m.start_urls or [m.base_url]:
                yield scrapy.Request(url, callback=self.parse_category, cb_kwargs={"page": 1})

    def parse_category(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        self.count("category_pages")
        text = self.page_text(response)
        for link in jsonld.product_links(text, response.url):
            yield scrapy.Request(link, callback=self.parse_product)
        following = jsonld.next_page(text, response.url)
        if following and self.page_allowed(page + 1):
            yield scrapy.Request(following, callback=self.parse_category, cb_kwargs={"page": page + 1})

    def parse_product(self, response: Response) -> Iterator[Offer]:
        offers = jsonld.extract_offers(self.page_text(response), response.url, self.marketplace)
        if not offers:
            self.count("pages_without_product")
        yield from offers

    def parse_robots(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            yield scrapy.Request(url, callback=self.parse_sitemap, cb_kwargs={"page": page})

    def parse_sitemap(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        body = sitemap_body(response)
        if body is None:
            self.count("sitemap_unreadable")
            return
        sitemap = Sitemap(body)
        self.count("sitemaps")
        for entry in sitemap:
            loc = entry.get("loc")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                if self.page_allowed(page + 1):
                    page += 1
                    yield scrapy.Request(loc, callback=self.parse_sitemap, cb_kwargs={"page": page})
            else:
                yield scrapy.Request(loc, callback=self.parse_product)


def sitemap_body(response: Response) -> bytes | None:
    """The XML of a sitemap response, gunzipped when needed; ``None`` when it is not a sitemap."""
    body = response.body
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip(body)
        except OSError:
            return None
    return body if b"<urlset" in body[:2048] or b"<sitemapindex" in body[:2048] else None


SHAPE = Shape("jsonld", JsonLdSpider, jsonld.extract_offers, probe)
