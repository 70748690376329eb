"""``shopify`` shape: ``products.json?limit=250&page=N`` until an empty page (or ``max_pages``).

A page whose products were all seen already ends the walk too (a shop that serves page 1 again past the
end would otherwise loop forever); it is counted as ``bijia/pagination_loop``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.base import PagedApiSpider
from spiders.pages import shopify
from spiders.shape import Found, Get, Shape

PAGE_SIZE = 250


class ShopifySpider(PagedApiSpider):
    name = "shopify"
    shape = "shopify"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen_products: set[str] = set()

    def page_url(self, page: int) -> str:
        return self.marketplace.url(f"products.json?limit={PAGE_SIZE}&page={page}")

    def parse_page(self, response: Response, page: int) -> Iterator[Any]:
        products = shopify.products(response.body)
        if not products:
            return
        ids = {str(p.get("id")) for p in products}
        if ids <= self.seen_products:
            self.count("pagination_loop")
            return
        self.seen_products |= ids
        self.count("api_pages")
        yield from shopify.extract_offers({"products": products}, response.url, self.marketplace)
        if self.page_allowed(page + 1):
            yield self.page_request(page + 1)


def probe(url: str, base: str, get: Get) -> Found | None:
    answer = get(base + "products.json?limit=1")
    data = answer.json() if answer.ok else None
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        return Found("shopify", ["products.json answers in Shopify's format"])
    return None


SHAPE = Shape("shopify", ShopifySpider, shopify.extract_offers, probe)
