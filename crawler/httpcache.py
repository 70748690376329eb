"""HTTP cache policy for scheduled runs: keep responses, but always revalidate them.

Scrapy's ``RFC2616Policy`` may serve a cached page without asking the shop when heuristics call it fresh
(e.g. 10 % of its ``Last-Modified`` age): fine for a browser, wrong for prices. This policy sends every
cached request again with ``If-None-Match`` / ``If-Modified-Since``; a ``304 Not Modified`` then costs
the shop no body and the spider gets the cached page. Shops that send no validators are simply not
cached. JavaScript-rendered pages (``meta["playwright"]``) are never cached: their content comes from
scripts, not from the document the validators describe.
"""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Request, Response

from crawler import settings as project


class RevalidatePolicy(RFC2616Policy):
    def should_cache_request(self, request: Request) -> bool:
        if request.meta.get("playwright"):
            return False
        return super().should_cache_request(request)

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        self._set_conditional_validators(request, cachedresponse)
        return False


class RevalidatingCacheMiddleware(HttpCacheMiddleware):
    """Scrapy's cache middleware without "error recovery": when the shop cannot be reached, Scrapy would
    answer with the cached page, and a failed crawl would publish stale prices as fresh observations.
    Here a download error stays an error (the marketplace's crawl reports it)."""

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        request.meta.pop("cached_response", None)
        return None


def cache_settings(directory: str) -> dict[str, Any]:
    """Settings that switch the revalidating cache on, keeping the project's downloader middlewares (a
    ``DOWNLOADER_MIDDLEWARES`` set at a higher priority replaces the project's dict, it does not merge)."""
    middlewares = {
        **getattr(project, "DOWNLOADER_MIDDLEWARES", {}),
        "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
        "crawler.httpcache.RevalidatingCacheMiddleware": 900,
    }
    return {
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": directory,
        "HTTPCACHE_POLICY": "crawler.httpcache.RevalidatePolicy",
        "HTTPCACHE_EXPIRATION_SECS": 7 * 86400,
        "DOWNLOADER_MIDDLEWARES": middlewares,
    }
