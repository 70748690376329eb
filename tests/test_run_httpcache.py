"""The run's HTTP cache: conditional requests where the shop sends validators, a 304 serves the cached page,
never a stale page for an unreachable shop, never a cached JavaScript-rendered page."""

from __future__ import annotations

import pytest
from scrapy import Spider
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError

from crawler.httpcache import RevalidatingCacheMiddleware, cache_settings

URL = "http://127.0.0.1:9/shop/products.json?page=1"


@pytest.fixture
def mw(tmp_path):
    crawler = get_crawler(Spider, cache_settings(str(tmp_path)))
    crawler.spider = crawler._create_spider("shop")
    middleware = RevalidatingCacheMiddleware.from_crawler(crawler)
    middleware.spider_opened(crawler.spider)
    return middleware


def fetch(mw, request, response):
    assert mw.process_request(request) is None  # always goes to the shop
    return mw.process_response(request, response)


def test_validators_make_the_next_request_conditional_and_a_304_serves_the_cached_page(mw):
    first = Request(URL)
    fetch(mw, first, HtmlResponse(URL, body=b"v1", headers={"ETag": '"abc"'}, request=first))
    second = Request(URL)
    assert mw.process_request(second) is None
    assert second.headers.get("If-None-Match") == b'"abc"'
    served = mw.process_response(second, HtmlResponse(URL, status=304, request=second))
    assert (served.status, served.body) == (200, b"v1")
    third = Request(URL)  # changed at the shop: the new page replaces the cached one
    assert (
        fetch(mw, third, HtmlResponse(URL, body=b"v2", headers={"ETag": '"def"'}, request=third)).body
        == b"v2"
    )


def test_pages_without_validators_are_not_cached(mw):
    first = Request(URL)
    fetch(mw, first, HtmlResponse(URL, body=b"v1", request=first))
    second = Request(URL)
    assert mw.process_request(second) is None
    assert b"If-None-Match" not in second.headers and "cached_response" not in second.meta


def test_an_unreachable_shop_is_an_error_not_a_stale_page(mw):
    first = Request(URL)
    fetch(mw, first, HtmlResponse(URL, body=b"v1", headers={"ETag": '"abc"'}, request=first))
    second = Request(URL)
    mw.process_request(second)
    assert mw.process_exception(second, ConnectionRefusedError()) is None


def test_browser_pages_are_never_cached(mw):
    first = Request(URL, meta={"playwright": True})
    fetch(mw, first, HtmlResponse(URL, body=b"rendered", headers={"ETag": '"abc"'}, request=first))
    second = Request(URL, meta={"playwright": True})
    mw.process_request(second)
    assert b"If-None-Match" not in second.headers


def test_the_project_middlewares_stay_enabled():
    from crawler import settings as project

    middlewares = cache_settings("x")["DOWNLOADER_MIDDLEWARES"]
    assert set(getattr(project, "DOWNLOADER_MIDDLEWARES", {})) <= set(middlewares)
    assert middlewares["scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware"] is None
