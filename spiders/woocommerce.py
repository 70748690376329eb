"""``woocommerce`` shape: the Store API, ``wp-json/wc/store/v1/products?per_page=100&page=N``.

Page 1 tells ``X-WP-TotalPages``; pages 2…total (bounded by ``max_pages``) are then requested
together. Without the header the walk goes on page by page until an empty page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.base import PagedApiSpider
from spiders.pages import woocommerce
from spiders.shape import Found, Get, Shape

PER_PAGE = 100


class WooCommerceSpider(PagedApiSpider):
    name = "woocommerce"
    shape = "woocommerce"

    def page_url(self, page: int) -> str:
        return self.marketplace.url(f"wp-json/wc/store/v1/products?per_page={PER_PAGE}&page={page}")

    def parse_page(self, response: Response, page: int) -> Iterator[Any]:
        products = woocommerce.products(response.body)
        if not products:
            return
        self.count("api_pages")
        yield from woocommerce.extract_offers(products, response.url, self.marketplace)
        total = total_pages(response)
        if total is None:
            following = [page + 1]
        elif page == 1:
            following = list(range(2, total + 1))
        else:
            following = []
        for n in following:
            if self.page_allowed(n):
                yield self.page_request(n)


def total_pages(response: Response) -> int | None:
    value = response.headers.get("X-WP-TotalPages")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def probe(url: str, base: str, get: Get) -> Found | None:
    answer = get(base + "wp-json/wc/store/v1/products?per_page=1")
    if answer.ok and isinstance(answer.json(), list):
        return Found("woocommerce", ["wp-json/wc/store/v1/products answers (WooCommerce Store API)"])
    return None


SHAPE = Shape("woocommerce", WooCommerceSpider, woocommerce.extract_offers, probe)
