"""Downloader middlewares: honour ``Retry-After`` on 429/503; read undeclared Chinese pages right.

``RetryAfterMiddleware`` — honour ``Retry-After`` on 429/503 before Scrapy's RetryMiddleware retries.

Scrapy 2.19's ``RetryMiddleware`` retries 429/503 at once (it never reads ``Retry-After``; see
``scrapy/downloadermiddlewares/retry.py``). This middleware sits just outside it (priority 560 > 550,
so it sees the response first), waits the requested time — capped by ``RETRY_AFTER_MAX_DELAY``
seconds — and passes the response on for RetryMiddleware to retry. The wait holds the request's
concurrency slot, which is the point: the shop asked us to slow down. A crawl being stopped (SIGINT)
stops waiting at once: a graceful stop never waits a minute for a Retry-After.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

from core.encoding import choose_encoding

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.statscollectors import StatsCollector

STATUSES = (429, 503)


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: ``"120"`` → 120, an HTTP date → seconds from ``now``; ``None`` if unreadable."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


WAIT_SLICE = 0.25
"""A ``Retry-After`` wait is taken in slices: a crawl being stopped (SIGINT) stops waiting within one."""


class RetryAfterMiddleware:
    def __init__(
        self,
        stats: StatsCollector | None = None,
        *,
        max_delay: float = 60.0,
        max_retry_times: int = 2,
        crawler: Crawler | None = None,
    ) -> None:
        self.stats = stats
        self.max_delay = max_delay
        self.max_retry_times = max_retry_times
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED") or not settings.getbool("RETRY_AFTER_ENABLED", True):
            raise NotConfigured
        return cls(
            crawler.stats,
            max_delay=settings.getfloat("RETRY_AFTER_MAX_DELAY", 60.0),
            max_retry_times=settings.getint("RETRY_TIMES"),
            crawler=crawler,
        )

    def delay_for(self, request: Request, response: Response) -> float | None:
        """Seconds to wait before this response is retried, or ``None`` for no wait."""
        if response.status not in STATUSES or request.meta.get("dont_retry"):
            return None
        if request.meta.get("retry_times", 0) >= request.meta.get("max_retry_times", self.max_retry_times):
            return None  # RetryMiddleware will give up: do not wait for nothing
        seconds = retry_after_seconds(response.headers.get("Retry-After"))
        return None if seconds is None else min(seconds, self.max_delay)

    async def process_response(self, request: Request, response: Response) -> Response:
        delay = self.delay_for(request, response)
        if delay is None:
            return response
        if self.stats is not None:
            self.stats.inc_value("retry_after/count")
            self.stats.inc_value("retry_after/seconds", delay)  # type: ignore[arg-type]  # seconds, not a count
        await self.wait(delay)
        return response

    async def wait(self, seconds: float) -> None:
        """Wait ``seconds``, or until the crawl is being stopped (then the retry is queued at once, and a
        resumed run makes it)."""
        # import here: importing the reactor at module level would install the default one
        from twisted.internet import reactor

        while seconds > 0 and (self.crawler is None or self.crawler.crawling):
            step = min(WAIT_SLICE, seconds)
            await maybe_deferred_to_future(deferLater(reactor, step, lambda: None))
            seconds -= step


class EncodingMiddleware:
    """Re-read an HTML response whose encoding Scrapy had to guess, or whose declared UTF-8 it is not.

    Scrapy trusts a BOM, the ``Content-Type`` charset and ``<meta charset>``/``http-equiv``; with none
    of them it guesses (charset-normalizer), which reads short GBK pages as Korean and Big5 ones as
    cp1252. ``core.encoding.choose_encoding`` tells GB18030/GBK from Big5 by their common
    characters. Sits inside HttpCompressionMiddleware (590), so it sees the decompressed body.
    Counted as ``bijia/encoding/<encoding>``.
    """

    def __init__(self, stats: StatsCollector | None = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("BIJIA_DETECT_ENCODING", True):
            raise NotConfigured
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, HtmlResponse) or not response.body:
            return response
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        chosen = choose_encoding(response.body, content_type)
        if _same_codec(chosen, response.encoding):
            return response
        if self.stats is not None:
            self.stats.inc_value(f"bijia/encoding/{chosen}")
        return response.replace(encoding=chosen)


def _same_codec(a: str, b: str) -> bool:
    try:
        return codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return a == b
