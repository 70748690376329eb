"""``instant`` shape (即时零售): ``api/stores``, then each store's ``api/stores/<id>/products?page=N&size=M``.

Page 1 of each store tells ``total_pages``; pages 2…total (bounded by ``max_pages``) follow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from spiders.base import MarketplaceSpider
from spiders.pages import instant
from spiders.pages.instant import Store

PAGE_SIZE = 100


class InstantSpider(MarketplaceSpider):
    name = "instant"
    shape = "instant"

    def products_url(self, store: Store, page: int) -> str:
        return self.marketplace.url(f"api/stores/{store.id}/products?page={page}&size={PAGE_SIZE}")

    async def start(self) -> AsyncIterator[Any]:
        yield scrapy.Request(self.marketplace.url("api/stores"), callback=self.parse_stores)

    def parse_stores(self, response: Response) -> Iterator[scrapy.Request]:
        stores = instant.extract_stores(response.body)
        self.count("stores", len(stores))
        for store in stores:
            yield scrapy.Request(
                self.products_url(store, 1),
                callback=self.parse_products,
                cb_kwargs={"store": store, "page": 1},
            )

    def parse_products(self, response: Response, store: Store, page: int) -> Iterator[Any]:
        self.count("api_pages")
        yield from instant.extract_offers(response.body, response.url, self.marketplace, store)
        if page == 1:
            for n in range(2, (instant.total_pages(response.body) or 1) + 1):
                if self.page_allowed(n):
                    yield scrapy.Request(
                        self.products_url(store, n),
                        callback=self.parse_products,
                        cb_kwargs={"store": store, "page": n},
                    )
