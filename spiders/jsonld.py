"""``jsonld`` shape: HTML shops with product pages (schema.org markup or none: see
``spiders.pages.product_page``).

Walks ``start_urls`` or, when ``sitemap_urls`` are given, the sitemaps (a ``robots.txt`` URL there means
"the sitemaps it lists"; sitemap indexes are followed). Each start URL is read for what it is: a product
page yields its offers; any other page is a category page whose product links and ``rel=next`` are
followed (Scrapy's dupefilter stops pagination loops). ``max_pages`` bounds category pages / sitemaps.

Stats: ``bijia/disagreement/<field>`` counts product pages where the visible page overrode the markup
(``price``, ``currency``…), ``bijia/pages_without_markup`` pages read from the visible page alone.
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
                yield scrapy.Request(url, callback=self.parse_start, cb_kwargs={"page": 1})

    def parse_start(self, response: Response, page: int) -> Iterator[Offer | scrapy.Request]:
        """A start URL: a product page's offers, else the category walk from it."""
        text = self.page_text(response)
        read = jsonld.read_product_page(text, response.url, self.marketplace)
        if jsonld.is_product_page(read, text, response.url):
            self.count("start_product_pages")
            yield from self.offers_of(read)
        else:
            yield from self.parse_category(response, page, text)

    def parse_category(
        self, response: Response, page: int, text: str | None = None
    ) -> Iterator[scrapy.Request]:
        self.count("category_pages")
        text = self.page_text(response) if text is None else text
        for link in jsonld.product_links(text, response.url):
            yield scrapy.Request(link, callback=self.parse_product)
        following = jsonld.next_page(text, response.url)
        if following and self.page_allowed(page + 1):
            yield scrapy.Request(following, callback=self.parse_category, cb_kwargs={"page": page + 1})

    def parse_product(self, response: Response) -> Iterator[Offer]:
        yield from self.offers_of(
            jsonld.read_product_page(self.page_text(response), response.url, self.marketplace)
        )

    def offers_of(self, read: jsonld.ProductPage) -> list[Offer]:
        """The page's offers, with its disagreements and reading counted."""
        if not read.offers:
            self.count("pages_without_product")
        elif not read.marked_up:
            self.count("pages_without_markup")
        for name in read.disagreements:
            self.count(f"disagreement/{name}")
        return read.offers

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
