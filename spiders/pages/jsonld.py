"""The ``jsonld`` shape's pages: product pages (read by ``spiders.pages.product_page``: markup and visible
page together) and category pages (product links, ``rel=next``).

The shape keeps its historical name; it reads any product page, with or without schema.org markup.
"""

from __future__ import annotations

from urllib.parse import urljoin

from parsel import Selector

from core.encoding import to_text
from core.offer import Offer
from crawler.config import Marketplace
from crawler.urlpolicy import http_url
from spiders.pages.product_page import ProductPage, read_product_page

__all__ = [
    "ProductPage",
    "extract_offers",
    "is_product_page",
    "next_page",
    "product_links",
    "read_product_page",
]


def extract_offers(body: str | bytes, url: str, marketplace: Marketplace) -> list[Offer]:
    """Every offer of the product page (one per Offer / AggregateOffer / variant, or the buy box's)."""
    return read_product_page(body, url, marketplace).offers


def is_product_page(page: ProductPage, body: str | bytes, url: str) -> bool:
    """Is this the page of one product (its offers are the point), not a category page? One product
    with offers, and no walk to follow: fewer than two links to other product pages and no ``rel=next``."""
    if not page.offers or not page.single_product:
        return False
    links = [link for link in product_links(body, url) if link.split("#")[0] != url.split("#")[0]]
    return len(links) < 2 and next_page(body, url) is None


def product_links(body: str | bytes, url: str, selector: str = "a.product-link") -> list[str]:
    """Absolute http(s) product-page links on a category page, in page order, without repeats
    (``javascript:``, ``mailto:`` … are no links to follow; other hosts are refused by the crawler)."""
    sel = Selector(text=to_text(body))
    hrefs = (
        sel.css(f"{selector}::attr(href)").getall()
        or sel.css("[itemtype*='schema.org/Product'] a[href]::attr(href)").getall()
    )
    return list(dict.fromkeys(u for h in hrefs if h.strip() and (u := http_url(urljoin(url, h.strip())))))


def next_page(body: str | bytes, url: str) -> str | None:
    """The ``rel=next`` link (``<a rel="next">`` or ``<link rel="next">``) as an absolute URL."""
    sel = Selector(text=to_text(body))
    href = sel.xpath(
        "//*[self::a or self::link][contains(concat(' ', normalize-space(@rel), ' '), ' next ')]/@href"
    ).get()
    return http_url(urljoin(url, href.strip())) if href and href.strip() else None
