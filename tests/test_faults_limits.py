"""The crawl budget (``crawler.guards.CrawlBudgetMiddleware``) on spider output, without a network: walk
pages, the request cap, links and offers per page, walks that repeat a page; and how ``limit_notes``
words what was cut. Real crawls of hostile shops are in ``test_faults_hostile.py``."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from core.offer import Offer
from crawler.config import ConfigError, Marketplace, load_marketplaces
from crawler.guards import WALK_PAGE, CrawlBudgetMiddleware, ResponseLimitsMiddleware
from crawler.limits import Limits, limit_notes

BASE = "http://127.0.0.1:1/shop/"


class Walker:
    """Stand-in spider callbacks: a listing page and a product page."""

    def listing(self, response, page=1): ...

    def product(self, response): ...


WALKER = Walker()


def budget(**market: object) -> tuple[CrawlBudgetMiddleware, dict]:
    crawler = get_crawler()
    crawler.spider = SimpleNamespace(
        marketplace=Marketplace(name="shop", shape="jsonld", base_url=BASE, **market)
    )
    crawler.stats = MemoryStatsCollector(crawler)
    return CrawlBudgetMiddleware(crawler), crawler.stats._stats


def response_to(request: Request, body: bytes = b"<html></html>") -> HtmlResponse:
    return HtmlResponse(request.url, body=body, request=request)


def listing(page: int | None, url: str | None = None) -> Request:
    kwargs = {"page": page} if page is not None else {}
    return Request(url or f"{BASE}list?page={page}", callback=WALKER.listing, cb_kwargs=kwargs)


def product(n: int) -> Request:
    return Request(f"{BASE}p/{n}", callback=WALKER.product)


def offer(n: int) -> Offer:
    return Offer(marketplace="shop", listing_id=str(n), url=f"{BASE}p/{n}", title="Kettle")


def out(guard: CrawlBudgetMiddleware, response: HtmlResponse, outputs: list) -> list:
    return list(guard.process_spider_output(response, iter(outputs)))


def test_walk_pages_past_the_cap_are_not_followed_and_counted():
    guard, stats = budget(max_pages=3)
    page3 = response_to(listing(3))
    kept = out(guard, page3, [product(1), listing(4), offer(1)])
    assert [type(x).__name__ for x in kept] == ["Request", "Offer"] and kept[0].url.endswith("p/1")
    assert stats == {"bijia/limits/max_pages": 1}


def test_a_walk_without_page_numbers_is_counted_by_its_callback():
    """A listing that links the next listing (same callback, no ``page``) is page n + 1 of its walk."""
    guard, stats = budget(max_pages=2)
    first = listing(None, f"{BASE}list")
    [second] = out(guard, response_to(first), [listing(None, f"{BASE}list?after=a")])
    assert second.meta[WALK_PAGE] == 2
    assert out(guard, response_to(second), [listing(None, f"{BASE}list?after=b")]) == []
    assert stats == {"bijia/limits/max_pages": 1}


def test_the_default_page_cap_applies_without_max_pages():
    guard, stats = budget()
    kept = out(guard, response_to(listing(1)), [listing(n) for n in range(2, 10_005)])
    assert len(kept) == 9_999 and stats == {"bijia/limits/max_pages": 4}  # pages 10,001 … 10,004


def test_the_request_cap_counts_start_requests_and_every_link():
    guard, stats = budget(limits={"max_requests": 3})
    kept = out(guard, response_to(listing(1)), [product(n) for n in range(5)])
    assert len(kept) == 3 and stats == {"bijia/limits/max_requests": 2}


def test_a_page_with_more_links_than_the_cap_is_not_read_further():
    guard, stats = budget(limits={"max_links_per_page": 10})
    produced = []

    def links():
        for n in range(1_000_000):
            produced.append(n)
            yield product(n)

    kept = list(guard.process_spider_output(response_to(listing(1)), links()))
    assert len(kept) == 10 and len(produced) == 11  # the 11th link ends the page: no million Requests
    assert stats == {"bijia/limits/links_per_page": 1}


def test_offers_past_the_cap_of_one_page_are_dropped():
    guard, stats = budget(limits={"max_offers_per_page": 2})
    kept = out(guard, response_to(product(1)), [offer(n) for n in range(5)])
    assert len(kept) == 2 and stats == {"bijia/limits/offers_per_page": 3}
    assert len(out(guard, response_to(product(2)), [offer(n) for n in range(2)])) == 2  # per page


def test_a_walk_page_that_repeats_an_earlier_one_ends_its_walk():
    guard, stats = budget()
    same = b'[{"id": 1}, {"id": 2}]'
    assert len(out(guard, response_to(listing(1), same), [offer(1), listing(2)])) == 2
    kept = out(guard, response_to(listing(2), same), [offer(1), listing(3)])
    assert kept == [kept[0]] and isinstance(kept[0], Offer)  # the offers pass (deduplicated later)
    assert stats == {"bijia/limits/repeated_page": 1}
    other = b'[{"id": 3}]'
    assert len(out(guard, response_to(listing(3), other), [offer(3), listing(4)])) == 2


def test_start_requests_count_against_the_request_cap():
    guard, stats = budget(limits={"max_requests": 2})

    async def start():
        for n in range(4):
            yield product(n)

    async def kept():
        return [r async for r in guard.process_start(start())]

    assert len(asyncio.run(kept())) == 2
    assert stats == {"bijia/limits/max_requests": 2}


def test_each_request_gets_the_marketplaces_size_cap_and_total_timeout():
    crawler = get_crawler()
    crawler.spider = SimpleNamespace(
        marketplace=Marketplace(
            name="shop", shape="jsonld", base_url=BASE, limits={"max_response_mb": 2, "download_timeout": 5}
        )
    )
    request = product(1)
    ResponseLimitsMiddleware(crawler).process_request(request)
    assert (request.meta["download_maxsize"], request.meta["download_timeout"]) == (2 * 2**20, 5)
    assert request.meta["download_warnsize"] == 2 * 2**20  # the warning never above the cap


def test_limit_notes_say_what_was_cut_and_what_was_refused():
    market = Marketplace(
        name="shop", shape="jsonld", base_url=BASE, max_pages=50, limits={"max_response_mb": 1.5}
    )
    stats = {
        "bijia/limits/max_pages": 1,
        "bijia/limits/response_too_large": 2,
        "bijia/limits/repeated_page": 1,
        "bijia/refused/offsite": 3,
        "bijia/refused/not_http": 1,
        "bijia/cleared/image_not_http": 4,
    }
    notes, cut = limit_notes(stats, market, 30.0)
    assert cut
    assert notes == [
        "page cap reached: 1 page(s) not followed (max_pages = 50)",
        "2 response(s) over limits.max_response_mb = 1.5 dropped",
        "pagination stopped: 1 page(s) repeated an earlier page",
        "refused 1 not http, 3 offsite link(s)",
        "cleared image not http ×4",
    ]
    assert limit_notes({"bijia/limits/repeated_page": 1, "bijia/refused/offsite": 1}) == (
        ["pagination stopped: 1 page(s) repeated an earlier page", "refused 1 offsite link(s)"],
        False,  # nothing of the shop was left unread
    )


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ('limits = { max_requests = "5" }', ["limits", "valid integer"]),
        ("limits = { max_response_mb = 0 }", ["limits", "greater than 0"]),
        ("limits = { max_pages = 5 }", ["limits", "xtra"]),
        ('allow_hosts = "cdn.shop.example"', ["allow_hosts", "valid list"]),
    ],
)
def test_bad_limits_name_the_key(tmp_path, entry: str, words: list[str]):
    config = tmp_path / "m.toml"
    config.write_text(f'[[marketplace]]\nname = "shop"\nshape = "jsonld"\nbase_url = "{BASE}"\n{entry}\n')
    with pytest.raises(ConfigError) as caught:
        load_marketplaces(config)
    assert f"{config} line 5: marketplace 'shop': " in str(caught.value)
    for word in words:
        assert word in str(caught.value)


def test_limits_default_to_what_lets_a_large_shop_through():
    limits = Limits()
    assert limits.max_requests == 200_000 and limits.max_links_per_page == 50_000  # a full sitemap
    assert limits.max_bytes == 32 * 2**20 and limits.download_timeout is None
