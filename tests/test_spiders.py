"""Spiders' request walking with fake responses (no network), and the Retry-After middleware."""

from __future__ import annotations

import asyncio
import gzip
import json
from decimal import Decimal
from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler, get_reactor_settings

from core.offer import Offer
from crawler.config import Marketplace
from crawler.middlewares import RetryAfterMiddleware, retry_after_seconds
from crawler.shapes import SHAPES
from spiders import SPIDERS
from tests.test_extract_recorded import PAGES

BASE = "http://127.0.0.1:8765"


def market(shape: str, **extra: Any) -> Marketplace:
    return Marketplace(name=f"m-{shape}", shape=shape, base_url=f"{BASE}/{shape}/", **extra)


def make_spider(shape: str, **extra: Any) -> Any:
    """As ``Crawler.crawl`` does: create the spider (settings still open), then apply and freeze settings."""
    settings = Settings({"TELNETCONSOLE_ENABLED": False, **get_reactor_settings()})
    crawler = Crawler(SPIDERS[shape], settings)
    crawler.spider = crawler._create_spider(marketplace=market(shape, **extra))
    crawler._apply_settings()
    return crawler.spider


def start_requests(spider: Any) -> list[Request]:
    async def collect() -> list[Request]:
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def respond(request: Request, body: bytes | str, cls: type[Response] = TextResponse, **kw: Any) -> Response:
    body = body.encode() if isinstance(body, str) else body
    return cls(url=request.url, body=body, request=request, encoding="utf-8", **kw)


def call(request: Request, response: Response) -> list[Any]:
    return list(request.callback(response, **request.cb_kwargs))


def split(results: list[Any]) -> tuple[list[Offer], list[Request]]:
    return [r for r in results if isinstance(r, Offer)], [r for r in results if isinstance(r, Request)]


def test_registry_and_marketplace_kwarg() -> None:
    assert (
        set(SPIDERS) == set(SHAPES) == {"jsonld", "shopify", "woocommerce", "browser", "instant", "fieldmap"}
    )
    spider = make_spider("shopify", concurrency=3, delay=1.5, obey_robots=False)
    assert spider.name == "m-shopify"
    settings = spider.crawler.settings
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 3
    assert settings.getfloat("DOWNLOAD_DELAY") == 1.5 and settings.getbool("ROBOTSTXT_OBEY") is False
    assert settings.getdict("DOWNLOADER_MIDDLEWARES")[RetryAfterMiddleware] == 560
    with pytest.raises(ValueError, match="shape"):
        SPIDERS["jsonld"].from_crawler(get_crawler(SPIDERS["jsonld"]), marketplace=market("shopify"))


# --- jsonld -----------------------------------------------------------------------------------------


def test_jsonld_walks_category_pages_and_products() -> None:
    spider = make_spider("jsonld", start_urls=[f"{BASE}/techmall/category/all"], max_pages=3)
    [first] = start_requests(spider)
    assert first.url == f"{BASE}/techmall/category/all" and first.cb_kwargs == {"page": 1}
    category = (PAGES / "jsonld" / "category.html").read_bytes()
    offers, requests = split(call(first, respond(first, category, HtmlResponse)))
    assert offers == []
    products = [r for r in requests if r.callback == spider.parse_product]
    assert [r.url for r in products] == [
        f"{BASE}/techmall/p/tm-000123",
        "https://127.0.0.1:8765/techmall/p/tm-000124",
    ]
    [following] = [r for r in requests if r.callback == spider.parse_category]
    assert following.url == f"{BASE}/techmall/category/all?page=3" and following.cb_kwargs == {"page": 2}
    # page 3 is allowed, page 4 is not (max_pages=3)
    _, more = split(call(following, respond(following, category, HtmlResponse)))
    assert any(r.callback == spider.parse_category for r in more)
    last = more[-1]
    last.cb_kwargs["page"] = 3
    _, at_limit = split(call(last, respond(last, category, HtmlResponse)))
    assert not any(r.callback == spider.parse_category for r in at_limit)
    # a pagination loop back to a seen page is dropped by Scrapy's dupefilter (no dont_filter)
    dupefilter = RFPDupeFilter()
    assert not following.dont_filter and not dupefilter.request_seen(following)
    assert dupefilter.request_seen(following.replace(cb_kwargs={"page": 7}))


def test_jsonld_product_page_yields_offers() -> None:
    spider = make_spider("jsonld", default_shipping=10)
    request = Request(f"{BASE}/techmall/p/tm-000123", callback=spider.parse_product)
    offers, _ = split(
        call(request, respond(request, (PAGES / "jsonld" / "product.html").read_bytes(), HtmlResponse))
    )
    assert [(o.listing_id, o.price, o.marketplace) for o in offers] == [
        ("TM-000123", Decimal("7999.00"), "m-jsonld")
    ]


def test_jsonld_sitemaps_via_robots_index_and_gzip() -> None:
    spider = make_spider("jsonld", sitemap_urls=[f"{BASE}/robots.txt"], start_urls=[f"{BASE}/ignored"])
    [robots] = start_requests(spider)
    assert robots.callback == spider.parse_robots
    _, [index] = split(
        call(robots, respond(robots, f"User-agent: *\nSitemap: {BASE}/techmall/sitemap.xml\n"))
    )
    assert index.url == f"{BASE}/techmall/sitemap.xml"
    index_xml = (
        f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{BASE}/techmall/sitemap-products-1.xml</loc></sitemap>"
        f"<sitemap><loc>{BASE}/techmall/sitemap-products-2.xml.gz</loc></sitemap></sitemapindex>"
    )
    _, children = split(call(index, respond(index, index_xml)))
    assert [c.url.rsplit("/", 1)[1] for c in children] == [
        "sitemap-products-1.xml",
        "sitemap-products-2.xml.gz",
    ]
    urlset = (
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{BASE}/techmall/p/a</loc></url><url><loc>{BASE}/techmall/p/b</loc></url></urlset>"
    )
    _, products = split(
        call(children[1], Response(children[1].url, body=gzip.compress(urlset.encode()), request=children[1]))
    )
    assert [p.url for p in products] == [f"{BASE}/techmall/p/a", f"{BASE}/techmall/p/b"]
    assert all(p.callback == spider.parse_product for p in products)
    assert split(call(children[0], respond(children[0], "<html>not a sitemap</html>"))) == ([], [])


# --- shopify / woocommerce / instant ----------------------------------------------------------------


def test_shopify_walks_pages_until_empty() -> None:
    spider = make_spider("shopify")
    [first] = start_requests(spider)
    assert first.url == f"{BASE}/shopify/products.json?limit=250&page=1"
    offers, [second] = split(call(first, respond(first, (PAGES / "shopify" / "products.json").read_bytes())))
    assert [o.listing_id for o in offers] == ["40001", "40002", "40003"]
    assert second.url.endswith("page=2") and second.cb_kwargs == {"page": 2}
    assert call(second, respond(second, '{"products": []}')) == []


def test_shopify_max_pages() -> None:
    spider = make_spider("shopify", max_pages=1)
    [first] = start_requests(spider)
    _, requests = split(call(first, respond(first, (PAGES / "shopify" / "products.json").read_bytes())))
    assert requests == []


@pytest.mark.parametrize(("max_pages", "expected"), [(None, [2, 3]), (2, [2])])
def test_woocommerce_uses_total_pages(max_pages: int | None, expected: list[int]) -> None:
    spider = make_spider("woocommerce", max_pages=max_pages)
    [first] = start_requests(spider)
    assert first.url == f"{BASE}/woocommerce/wp-json/wc/store/v1/products?per_page=100&page=1"
    body = (PAGES / "woocommerce" / "products.json").read_bytes()
    offers, requests = split(
        call(first, respond(first, body, headers={"X-WP-Total": "250", "X-WP-TotalPages": "3"}))
    )
    assert len(offers) == 3
    assert [r.cb_kwargs["page"] for r in requests] == expected
    # later pages do not schedule again
    assert split(call(requests[0], respond(requests[0], body, headers={"X-WP-TotalPages": "3"})))[1] == []


def test_woocommerce_without_header_walks_until_empty() -> None:
    spider = make_spider("woocommerce")
    [first] = start_requests(spider)
    _, [second] = split(call(first, respond(first, (PAGES / "woocommerce" / "products.json").read_bytes())))
    assert second.cb_kwargs == {"page": 2}
    assert call(second, respond(second, "[]")) == []


def test_instant_walks_stores_then_product_pages() -> None:
    spider = make_spider("instant", max_pages=2)
    [stores_request] = start_requests(spider)
    assert stores_request.url == f"{BASE}/instant/api/stores"
    _, per_store = split(
        call(stores_request, respond(stores_request, (PAGES / "instant" / "stores.json").read_bytes()))
    )
    assert [r.cb_kwargs["each"]["id"] for r in per_store] == ["S01", "S02"]
    assert per_store[0].url == f"{BASE}/instant/api/stores/S01/products?size=100"
    body = json.loads((PAGES / "instant" / "products-S01.json").read_text())
    body["total_pages"] = 5
    offers, more = split(call(per_store[0], respond(per_store[0], json.dumps(body))))
    assert [o.listing_id for o in offers] == ["P100@S01", "P101@S01"]
    assert [(r.cb_kwargs["each"]["id"], r.cb_kwargs["page"]) for r in more] == [("S01", 2)]  # max_pages=2
    assert more[0].url == f"{BASE}/instant/api/stores/S01/products?size=100&page=2"


# --- browser ----------------------------------------------------------------------------------------


class FakePage:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def test_browser_requests_a_playwright_page_and_closes_it_on_error() -> None:
    spider = make_spider("browser")
    [request] = start_requests(spider)
    assert request.meta["playwright"] is True and request.meta["playwright_include_page"] is True
    assert request.url == f"{BASE}/browser/" and request.errback == spider.close_page
    page = FakePage()
    request.meta["playwright_page"] = page

    class Failure:
        value = TimeoutError("boom")

    Failure.request = request
    asyncio.run(spider.close_page(Failure()))
    assert page.closed
    assert spider.crawler.stats.get_value("bijia/browser_errors") == 1


# --- Retry-After ------------------------------------------------------------------------------------


def test_retry_after_values() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(b"7") == 7
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    from datetime import UTC, datetime

    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now) == 60
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_retry_after_delay_is_capped_and_counted() -> None:
    crawler = get_crawler(settings_dict={"RETRY_AFTER_MAX_DELAY": 30, "RETRY_TIMES": 2})
    crawler.stats.open_spider()
    mw = RetryAfterMiddleware.from_crawler(crawler)
    request = Request(f"{BASE}/x")

    def response(status: int, value: str | None) -> Response:
        headers = {"Retry-After": value} if value is not None else {}
        return Response(request.url, status=status, headers=headers, request=request)

    assert mw.delay_for(request, response(429, "3600")) == 30
    assert mw.delay_for(request, response(503, "5")) == 5
    assert mw.delay_for(request, response(429, None)) is None
    assert mw.delay_for(request, response(500, "5")) is None
    assert (
        mw.delay_for(request.replace(meta={"retry_times": 2}), response(429, "5")) is None
    )  # gives up anyway
    assert mw.delay_for(request.replace(meta={"dont_retry": True}), response(429, "5")) is None
    passed = asyncio.run(mw.process_response(request, response(429, "0")))
    assert passed.status == 429  # RetryMiddleware retries it next
    assert crawler.stats.get_value("retry_after/count") == 1


def test_retry_after_off_when_retries_are_off() -> None:
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured):
        RetryAfterMiddleware.from_crawler(get_crawler(settings_dict={"RETRY_ENABLED": False}))
