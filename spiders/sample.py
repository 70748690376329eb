"""One page of a marketplace, fetched without Scrapy: what ``bijia marketplaces check`` looks at.

The same URLs the spiders start from (smaller pages), through a ``get(url) -> Fetched`` the caller
provides (``service.marketplaces.fetch`` with robots.txt checked), and the same page objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urljoin

from scrapy.http import Response
from scrapy.utils.sitemap import Sitemap

from core.encoding import to_text
from core.offer import Offer
from crawler.config import Marketplace
from spiders.pages import instant, jsonld, shopify, woocommerce

SAMPLE_SIZE = 10
MAX_SITEMAP_HOPS = 4
Get = Callable[[str], Any]  # url -> service.marketplaces.Fetched


class NeedsBrowser(Exception):
    """The shape renders its listing with JavaScript: one plain page says nothing about its offers."""

    def __init__(self, url: str) -> None:
        super().__init__(
            "the listing is rendered by JavaScript: run `bijia crawl -m NAME` (headless Chromium)"
        )
        self.url = url


def sample_offers(m: Marketplace, get: Get) -> tuple[str, list[Offer], list[str]]:
    """(URL checked, its offers, problems) for one page of ``m``."""
    if m.shape == "browser":
        raise NeedsBrowser(m.start_urls[0] if m.start_urls else m.base_url)
    if m.shape == "shopify":
        return _api(
            get,
            m.url(f"products.json?limit={SAMPLE_SIZE}&page=1"),
            lambda page: shopify.extract_offers(page.body, page.url, m),
        )
    if m.shape == "woocommerce":
        return _api(
            get,
            m.url(f"wp-json/wc/store/v1/products?per_page={SAMPLE_SIZE}&page=1"),
            lambda page: woocommerce.extract_offers(page.body, page.url, m),
        )
    if m.shape == "instant":
        return _instant(m, get)
    return _jsonld(m, get)


def _api(get: Get, url: str, extract: Callable[[Any], list[Offer]]) -> tuple[str, list[Offer], list[str]]:
    page = get(url)
    if not page.ok:
        return url, [], [f"{url}: {page.error or f'HTTP {page.status}'}"]
    try:
        return url, extract(page), []
    except ValueError as exc:  # not JSON
        return url, [], [f"{url}: not the expected JSON ({exc})"]


def _instant(m: Marketplace, get: Get) -> tuple[str, list[Offer], list[str]]:
    url = m.url("api/stores")
    page = get(url)
    stores = instant.extract_stores(page.body) if page.ok else []
    if not stores:
        return url, [], [f"{url}: {page.error or 'no stores'}"]
    store = stores[0]
    return _api(
        get,
        m.url(f"api/stores/{store.id}/products?page=1&size={SAMPLE_SIZE}"),
        lambda p: instant.extract_offers(p.body, p.url, m, store),
    )


def _jsonld(m: Marketplace, get: Get) -> tuple[str, list[Offer], list[str]]:
    problems: list[str] = []
    product_url = _from_sitemaps(m, get, problems) if m.sitemap_urls else _from_category(m, get, problems)
    if product_url is None:
        return (m.sitemap_urls or m.start_urls or [m.base_url])[0], [], problems
    page = get(product_url)
    if not page.ok:
        return product_url, [], [*problems, f"{product_url}: {page.error or f'HTTP {page.status}'}"]
    offers = jsonld.extract_offers(to_text(page.body, page.content_type), page.url, m)
    if not offers:
        problems.append(f"{product_url}: no schema.org Product/Offer or OpenGraph price on the page")
    return product_url, offers, problems


def _from_category(m: Marketplace, get: Get, problems: list[str]) -> str | None:
    url = (m.start_urls or [m.base_url])[0]
    page = get(url)
    if not page.ok:
        problems.append(f"{url}: {page.error or f'HTTP {page.status}'}")
        return None
    text = to_text(page.body, page.content_type)
    links = jsonld.product_links(text, page.url)
    if links:
        return links[0]
    if jsonld.extract_offers(text, page.url, m):
        return url  # a product page itself
    problems.append(f"{url}: no product links (a.product-link or schema.org Product items)")
    return None


def _from_sitemaps(m: Marketplace, get: Get, problems: list[str]) -> str | None:
    """The first product URL of the first sitemap (robots.txt and sitemap indexes followed)."""
    from spiders.jsonld import sitemap_body

    queue = list(m.sitemap_urls)
    for _ in range(MAX_SITEMAP_HOPS * 4):
        if not queue:
            break
        url = queue.pop(0)
        page = get(url)
        if not page.ok:
            problems.append(f"{url}: {page.error or f'HTTP {page.status}'}")
            continue
        if url.endswith("/robots.txt"):
            text = page.body.decode("utf-8", "replace")
            queue[:0] = [
                urljoin(url, line.split(":", 1)[1].strip())
                for line in text.splitlines()
                if line.lower().startswith("sitemap:")
            ]
            continue
        body = sitemap_body(cast(Response, _AsResponse(page.body)))  # only .body is read
        if body is None:
            problems.append(f"{url}: not a sitemap")
            continue
        sitemap = Sitemap(body)
        locs = [entry["loc"] for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            queue[:0] = locs
        elif locs:
            return locs[0]
    problems.append("no product URL in the sitemaps")
    return None


class _AsResponse:
    """Just enough of a Response for ``spiders.jsonld.sitemap_body``."""

    def __init__(self, body: bytes) -> None:
        self.body = body
