"""Guards against hostile shops, for every spider that has a ``marketplace`` (``crawler.config``).

Downloader side:

* ``UrlPolicyMiddleware`` refuses requests the URL policy (``crawler.urlpolicy``) refuses — a scheme
  other than http(s), an off-site host, another local service — before robots.txt or a connection
  (redirect targets pass it again). Counted as ``bijia/refused/<reason>``.
* ``ResponseLimitsMiddleware`` gives every request the marketplace's size cap (``DOWNLOAD_MAXSIZE``,
  applied by Scrapy to the body and again while decompressing) and total timeout, and counts the
  responses they cut.
* ``CappedCompressionMiddleware`` and ``LoopCountingRedirectMiddleware`` are Scrapy's own, counting what
  they drop (a gzip bomb; a redirect loop, including A → B → A which the dupefilter would drop unsaid).

Spider side, ``CrawlBudgetMiddleware``: the request budget (``limits.max_requests``), the page cap of each
walk (``max_pages``), links and offers per page, and walks that repeat a page. A *walk* is a chain of
listing pages: a request carrying its page number as ``cb_kwargs["page"]`` (every paging spider does),
or else one whose callback is the callback of the page it came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, Self

from scrapy import Request
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest, NotConfigured

from crawler.limits import DEFAULT_MAX_PAGES, LIMITS, REFUSED, Limits
from crawler.urlpolicy import UrlPolicy

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from crawler.config import Marketplace

WALK_PAGE = "bijia_walk_page"
"""``Request.meta`` key: the page number of a request in its walk, when it is a walk step."""


def marketplace_of(crawler: Crawler) -> Marketplace | None:
    return getattr(crawler.spider, "marketplace", None)


def count(crawler: Crawler, key: str, n: int = 1) -> None:
    if crawler.stats is not None:
        crawler.stats.inc_value(key, n)


class _Guard:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._limits: Limits | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("BIJIA_GUARDS_ENABLED", True):
            raise NotConfigured
        return cls(crawler)

    @property
    def market(self) -> Marketplace | None:
        return marketplace_of(self.crawler)

    @property
    def limits(self) -> Limits:
        if self._limits is None:
            self._limits = getattr(self.market, "limits", None) or Limits()
        return self._limits


class UrlPolicyMiddleware(_Guard):
    """Refuse a request whose URL the marketplace's policy refuses (``IgnoreRequest``, counted)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._policy: UrlPolicy | None = None

    def process_request(self, request: Request) -> None:
        market = self.market
        if market is None:
            return
        if self._policy is None:
            self._policy = UrlPolicy.for_marketplace(market)
        reason = self._policy.refusal(request.url)
        if reason is not None:
            count(self.crawler, REFUSED + reason)
            raise IgnoreRequest(f"{reason.replace('_', ' ')}: {request.url}")


class ResponseLimitsMiddleware(_Guard):
    """The marketplace's size cap and total timeout on every request; counts the responses they cut."""

    def process_request(self, request: Request) -> None:
        if self.market is None:
            return
        limits = self.limits
        request.meta.setdefault("download_maxsize", limits.max_bytes)
        request.meta.setdefault("download_warnsize", limits.warn_bytes)
        if limits.download_timeout is not None:
            request.meta.setdefault("download_timeout", limits.download_timeout)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, DownloadTimeoutError):
            count(self.crawler, LIMITS + "timeout")
        elif isinstance(exception, DownloadCancelledError):  # Scrapy cancels a download only at the size cap
            count(self.crawler, LIMITS + "response_too_large")


class CappedCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression (which stops at ``download_maxsize``), counting the bodies it stops."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        try:
            return super().process_response(request, response)
        except IgnoreRequest:
            if self.stats is not None:
                self.stats.inc_value(LIMITS + "response_too_large")
            raise


class LoopCountingRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirects; a chain that comes back to a URL it passed, or runs past
    ``REDIRECT_MAX_TIMES``, is dropped and counted as a redirect loop."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        try:
            result = super().process_response(request, response)
        except IgnoreRequest:
            count(self.crawler, LIMITS + "redirect_loop")
            raise
        if isinstance(result, Request) and result.url in result.meta.get("redirect_urls", []):
            count(self.crawler, LIMITS + "redirect_loop")
            raise IgnoreRequest(f"redirect loop back to {result.url}")
        return result


class _PageOutput:
    """What one response yielded so far (links, offers) and whether its walk requests are dropped."""

    def __init__(self, response: Response | None, repeated: bool) -> None:
        parent = response.request if response is not None else None
        self.parent_page = walk_page_of(parent) if parent is not None else None
        self.parent_callback = getattr(parent, "callback", None) if parent is not None else None
        self.repeated = repeated
        self.repeat_counted = False
        self.links = 0
        self.offers = 0


def walk_page_of(request: Request) -> int | None:
    page = request.cb_kwargs.get("page")
    if isinstance(page, int) and not isinstance(page, bool):
        return page
    value = request.meta.get(WALK_PAGE)
    return value if isinstance(value, int) else None


class CrawlBudgetMiddleware(_Guard):
    """Spider output within the marketplace's budget (see the module's docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.requests = 0
        self.page_digests: set[bytes] = set()

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        page = _PageOutput(None, repeated=False)
        async for output in start:
            if self.keep(output, page):
                yield output

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        page = self.page_output(response)
        for output in result:
            if self.keep(output, page):
                yield output
            elif page.links > self.limits.max_links_per_page:
                break  # the rest of a page with too many links is not even produced

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        page = self.page_output(response)
        async for output in result:
            if self.keep(output, page):
                yield output
            elif page.links > self.limits.max_links_per_page:
                break

    def page_output(self, response: Response) -> _PageOutput:
        """A walk page whose body repeats an earlier walk page leads nowhere new: its walk stops."""
        repeated = False
        if self.market is not None and walk_page_of(response.request) is not None:  # type: ignore[arg-type]
            digest = hashlib.blake2b(response.body, digest_size=16).digest()
            repeated = digest in self.page_digests
            self.page_digests.add(digest)
        return _PageOutput(response, repeated)

    def keep(self, output: Any, page: _PageOutput) -> bool:
        if self.market is None:
            return True
        if isinstance(output, Request):
            return self.keep_request(output, page)
        page.offers += 1
        if page.offers > self.limits.max_offers_per_page:
            count(self.crawler, LIMITS + "offers_per_page")
            return False
        return True

    def keep_request(self, request: Request, page: _PageOutput) -> bool:
        page.links += 1
        if page.links > self.limits.max_links_per_page:
            count(self.crawler, LIMITS + "links_per_page")
            return False
        number = self.walk_page(request, page)
        if number is not None and page.repeated:
            if not page.repeat_counted:
                count(self.crawler, LIMITS + "repeated_page")
                page.repeat_counted = True
            return False
        if number is not None and number > (self.market.max_pages or DEFAULT_MAX_PAGES):  # type: ignore[union-attr]
            count(self.crawler, LIMITS + "max_pages")
            return False
        self.requests += 1
        if self.requests > self.limits.max_requests:
            count(self.crawler, LIMITS + "max_requests")
            return False
        return True

    @staticmethod
    def walk_page(request: Request, page: _PageOutput) -> int | None:
        number = walk_page_of(request)
        if number is None and page.parent_callback is not None and request.callback == page.parent_callback:
            number = (page.parent_page or 1) + 1
            request.meta[WALK_PAGE] = number
        return number
