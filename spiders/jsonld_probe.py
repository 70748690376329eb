"""The probe of the ``jsonld`` shape (``bijia marketplaces add``): a category page with product links or a
``rel=next`` link, else the sitemaps of the host's robots.txt (or ``sitemap.xml``), else a single product
page with schema.org markup."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from core.encoding import to_text
from crawler.config import Marketplace
from crawler.urlpolicy import UrlPolicy
from spiders.pages import jsonld
from spiders.shape import Found, Get

PRODUCT_PAGE_NOTE = (
    "a product page with schema.org markup, but no sitemap or category page: add category pages to start_urls"
)
_SITEMAP_LINE = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def discover_sitemaps(base_url: str, get: Get) -> list[str]:
    """Sitemaps of a shop: ``Sitemap:`` lines of the host's robots.txt (only those under ``base_url`` when
    the shop lives under a path: one host may serve several shops), else ``<base_url>sitemap.xml``."""
    parts = urlsplit(base_url)
    robots = get(f"{parts.scheme}://{parts.netloc}/robots.txt")
    listed = _SITEMAP_LINE.findall(robots.body.decode("utf-8", "replace")) if robots.ok else []
    policy = UrlPolicy.of([base_url])
    listed = [u for u in listed if policy.allows(u)]  # not another host, not a local service
    own = [u for u in listed if u.startswith(base_url)] if parts.path.strip("/") else listed
    if own:
        return own
    candidate = get(urljoin(base_url, "sitemap.xml"))
    if candidate.ok and (b"<urlset" in candidate.body[:2048] or b"<sitemapindex" in candidate.body[:2048]):
        return [candidate.url]
    return []


def probe(url: str, base: str, get: Get) -> Found | None:
    page = get(url)
    if not page.ok:
        return None
    text = to_text(page.body, page.content_type)
    if "json" in page.content_type or text.lstrip()[:1] in ("{", "["):
        return None  # an API, not a page
    links = jsonld.product_links(text, page.url)
    if links or jsonld.next_page(text, page.url):
        return Found("jsonld", [f"{len(links)} product links on the page"], {"start_urls": [url]})
    sitemaps = discover_sitemaps(base, get)
    if sitemaps:
        return Found(
            "jsonld",
            ["product pages from the sitemap(s): " + ", ".join(sitemaps)],
            {"sitemap_urls": sitemaps},
        )
    sample = Marketplace(name="probe", shape="jsonld", base_url=base)
    if jsonld.extract_offers(text, page.url, sample):
        return Found(
            "jsonld",
            [PRODUCT_PAGE_NOTE],
            {"start_urls": [url]},
        )
    return None
