"""The jsonld spider reads a start URL for what it is, and counts where the page overrode the markup."""

from __future__ import annotations

from decimal import Decimal

from scrapy.http import HtmlResponse

from tests.test_extract_recorded import PAGES
from tests.test_extract_visible import SALE, ld, page
from tests.test_spiders import BASE, call, make_spider, respond, split, start_requests


def test_a_product_url_as_start_url_yields_its_offers() -> None:
    spider = make_spider("jsonld", start_urls=[f"{BASE}/techmall/p/tm-000123"])
    [start] = start_requests(spider)
    offers, requests = split(
        call(start, respond(start, (PAGES / "jsonld" / "product.html").read_bytes(), HtmlResponse))
    )
    assert [(o.listing_id, o.price) for o in offers] == [("TM-000123", Decimal("7999.00"))]
    assert requests == []
    assert spider.crawler.stats.get_value("bijia/start_product_pages") == 1


def test_a_category_url_as_start_url_is_walked() -> None:
    spider = make_spider("jsonld", start_urls=[f"{BASE}/techmall/category/all"])
    [start] = start_requests(spider)
    offers, requests = split(
        call(start, respond(start, (PAGES / "jsonld" / "category.html").read_bytes(), HtmlResponse))
    )
    assert offers == []
    assert [r.callback for r in requests].count(spider.parse_product) == 2
    assert spider.crawler.stats.get_value("bijia/category_pages") == 1


def test_disagreements_are_counted_per_field() -> None:
    spider = make_spider("jsonld")
    head = ld(
        '{"@type": "Product", "name": "Kettle 1.7 l", "offers": {"price": "29.99", "priceCurrency": "GBP"}}'
    )
    request = HtmlResponse(url=f"{BASE}/m-jsonld/p/1", body=page(head, SALE).encode(), encoding="utf-8")
    [offer] = spider.parse_product(request)
    assert offer.price == Decimal("19.99")
    assert spider.crawler.stats.get_value("bijia/disagreement/price") == 1
