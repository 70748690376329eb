"""bijia spiders, one per marketplace *shape*: ``SPIDERS[shape]``.

Each is configured by a ``Marketplace`` kwarg: ``crawler.crawl(SPIDERS[m.shape], marketplace=m)``.
"""

from __future__ import annotations

import scrapy

from spiders.browser import BrowserSpider
from spiders.instant import InstantSpider
from spiders.jsonld import JsonLdSpider
from spiders.shopify import ShopifySpider
from spiders.woocommerce import WooCommerceSpider

SPIDERS: dict[str, type[scrapy.Spider]] = {
    "jsonld": JsonLdSpider,
    "shopify": ShopifySpider,
    "woocommerce": WooCommerceSpider,
    "browser": BrowserSpider,
    "instant": InstantSpider,
}

__all__ = ["SPIDERS", "BrowserSpider", "InstantSpider", "JsonLdSpider", "ShopifySpider", "WooCommerceSpider"]
