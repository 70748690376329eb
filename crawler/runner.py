"""Run a crawl of some marketplaces into a DuckDB file and publish it as one run.

Scrapy's own exit is 0 even when pages failed, so each marketplace's outcome is derived from its crawl
stats (``marketplace_status``). Only marketplaces that yielded offers are published; the rest keep their
previously published offers.

Scrapy logs a failed write (a full ``JOBDIR``, a staging batch the database could not take) and carries
on, so the crawl watches its log records for a full disk (:class:`DiskFullWatch`): such a crawl is not
what the shops hold, is never published, and says so in one line.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.config import Marketplace
from crawler.limits import limit_notes
from storage import connected
from storage.failures import DiskFull, StorageError, describe, disk_full_message, disk_full_path
from storage.offers import commit_run, finish_run, start_run

ProgressCallback = Callable[[str, int], None]
"""Called with (marketplace name, offers so far)."""


@dataclass
class MarketplaceReport:
    name: str
    status: str  # ok | degraded | failed
    pages: int
    offers: int
    dropped: int
    errors: int
    seconds: float
    reason: str = ""
    dropped_reasons: dict[str, int] = field(default_factory=dict)
    finish_reason: str = ""  # Scrapy's: finished | shutdown (interrupted) | closespider_* | …
    # product pages whose visible page overrode the markup, per field (``bijia/disagreement/<field>``)
    disagreements: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class CrawlReport:
    run_id: str
    status: str  # finished | partial | failed
    published: int
    marketplaces: list[MarketplaceReport]
    disk_full: str | None = None
    """Set when a write failed on a full disk during the crawl: the file (or "" when none was named)."""

    @property
    def failed(self) -> list[str]:
        return [m.name for m in self.marketplaces if m.status == "failed"]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def stored_offers(stats: dict[str, Any]) -> int:
    """Offers the pipeline stored (``bijia/staged``), not the items Scrapy counted as scraped."""
    return int(stats.get("bijia/staged", stats.get("item_scraped_count", 0)))


def marketplace_status(
    stats: dict[str, Any], market: Marketplace | None = None, timeout: float = 30.0
) -> tuple[str, str, int]:
    """(status, reason, error count) for one marketplace from its Scrapy stats, with the limits it met
    (``crawler.limits.limit_notes``): a limit that cut the crawl short makes an ``ok`` one ``degraded``."""
    status, reason, errors = _crawl_status(stats)
    notes, cut = limit_notes(stats, market, timeout)
    if cut and status == "ok":
        status = "degraded"
    return status, "; ".join(x for x in (reason, *notes) if x), errors


def _crawl_status(stats: dict[str, Any]) -> tuple[str, str, int]:
    offers = stored_offers(stats)
    # Only per-crawler counters: Scrapy's log_count/ERROR counts every crawler's errors in the process.
    errors = (
        int(stats.get("retry/max_reached", 0))
        + int(stats.get("httperror/response_ignored_count", 0))
        + sum(int(v) for k, v in stats.items() if k.startswith(("spider_exceptions/", "bijia/errors/")))
    )
    finish = stats.get("finish_reason", "unknown")
    if finish != "finished":
        return "failed", f"crawl ended: {finish}", errors
    if offers == 0:
        statuses = {
            k.rsplit("/", 1)[-1]: v
            for k, v in stats.items()
            if k.startswith("downloader/response_status_count/")
        }
        exc = {
            k.rsplit("/", 1)[-1]: v
            for k, v in stats.items()
            if k.startswith("downloader/exception_type_count/")
        }
        detail = ", ".join(f"HTTP {k}×{v}" for k, v in sorted(statuses.items()) if not k.startswith("2"))
        detail = ", ".join(x for x in (detail, ", ".join(f"{k}×{v}" for k, v in exc.items())) if x)
        return "failed", "no offers" + (f" ({detail})" if detail else ""), errors
    if errors:
        return "degraded", f"{errors} error(s)", errors
    return "ok", "", errors


def crawl_settings(
    db_path: Path, run_id: str, *, log_level: str = "ERROR", extra: dict[str, Any] | None = None
):
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("BIJIA_DB", str(db_path), priority="cmdline")
    settings.set("BIJIA_RUN_ID", run_id, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", log_level != "NONE", priority="cmdline")
    for key, value in (extra or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl(
    marketplaces: Sequence[Marketplace],
    *,
    db_path: Path,
    run_id: str | None = None,
    log_level: str = "ERROR",
    jobdir: Path | None = None,
    progress: ProgressCallback | None = None,
    extra_settings: dict[str, Any] | None = None,
    publish: bool = True,
) -> CrawlReport:
    """Crawl ``marketplaces`` (one Scrapy crawler each, concurrently) and publish the run.

    ``publish=False`` leaves the staged offers and the run unpublished (``published`` is 0): the caller
    commits, e.g. ``bijia run``, which keeps an interrupted run's staging for ``--resume``.
    Can run once per process (Scrapy's event loop cannot restart).
    """
    run_id = run_id or new_run_id()
    names = [m.name for m in marketplaces]
    with connected(db_path) as con:
        start_run(con, run_id, "crawl", names)
    settings = crawl_settings(db_path, run_id, log_level=log_level, extra=extra_settings)
    with disk_full_watch() as watch:
        stats = _crawl(marketplaces, settings, jobdir, progress)
    timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
    reports = [_report(market, stats[market.name], timeout) for market in marketplaces]
    ok = [r.name for r in reports if r.status != "failed"]
    overall = "finished" if len(ok) == len(reports) else ("partial" if ok else "failed")
    if not publish:
        return CrawlReport(run_id, overall, 0, reports, watch.path)
    if watch.path is not None:
        path = watch.path or str(db_path)
        _give_up(db_path, run_id, reports, f"{disk_full_message(path)}; nothing published")
        raise DiskFull(f"run {run_id}: {disk_full_message(path)} during the crawl; nothing published", path)
    stored = {"marketplaces": {r.name: r.to_dict() for r in reports}}
    try:
        with connected(db_path) as con:
            published = commit_run(con, run_id, ok, overall, stored)
    except Exception as exc:  # noqa: BLE001 - said in one line, and the run is marked failed
        error = describe(exc, db_path)
        _give_up(db_path, run_id, reports, f"{error}; nothing published")
        raise StorageError(f"run {run_id}: publishing the crawl failed: {error}; nothing published") from None
    return CrawlReport(run_id, overall, published, reports)


def _crawl(
    marketplaces: Sequence[Marketplace], settings: Any, jobdir: Path | None, progress: ProgressCallback | None
) -> dict[str, dict[str, Any]]:
    """Run one Scrapy crawler per marketplace until all are done; their stats by marketplace name."""
    from scrapy import signals
    from scrapy.crawler import AsyncCrawlerProcess, Crawler

    process = AsyncCrawlerProcess(settings)
    crawlers = {}
    for market in marketplaces:
        spider_settings = settings.copy()
        if jobdir is not None:
            spider_settings.set("JOBDIR", str(Path(jobdir) / market.name), priority="cmdline")
        # the spider of each shape is found by name in SPIDER_MODULES (Scrapy's spider loader), so the
        # Scrapy plumbing does not import the spiders that build on it
        spider_class = process.spider_loader.load(market.shape)
        crawler = process.create_crawler(Crawler(spider_class, spider_settings))
        crawlers[market.name] = crawler
        if progress is not None:
            count = {"n": 0}

            def on_item(item=None, response=None, spider=None, _name=market.name, _count=count):
                _count["n"] += 1
                progress(_name, _count["n"])

            crawler.signals.connect(on_item, signal=signals.item_scraped, weak=False)
        process.crawl(crawler, marketplace=market)
    process.start(install_signal_handlers=True)
    return {name: (c.stats.get_stats() if c.stats else {}) for name, c in crawlers.items()}


def _report(market: Marketplace, stats: dict[str, Any], timeout: float) -> MarketplaceReport:
    status, reason, errors = marketplace_status(stats, market, timeout)
    dropped = {k.split("/", 2)[2]: int(v) for k, v in stats.items() if k.startswith("bijia/dropped/")}
    seconds = 0.0
    if stats.get("start_time") and stats.get("finish_time"):
        seconds = (stats["finish_time"] - stats["start_time"]).total_seconds()
    return MarketplaceReport(
        market.name,
        status,
        int(stats.get("response_received_count", 0)),
        stored_offers(stats),
        sum(dropped.values()),
        errors,
        round(seconds, 2),
        reason,
        dropped,
        str(stats.get("finish_reason", "")),
        {k.split("/", 2)[2]: int(v) for k, v in stats.items() if k.startswith("bijia/disagreement/")},
    )


def _give_up(db_path: Path, run_id: str, reports: list[MarketplaceReport], why: str) -> None:
    """Record the crawl run as failed (best effort: on a full disk even that may not fit; a later run
    then finds it unfinished)."""
    try:
        with connected(db_path) as con:
            finish_run(
                con, run_id, "failed", {"marketplaces": {r.name: r.to_dict() for r in reports}, "error": why}
            )
    except Exception:  # noqa: BLE001 - the caller reports the real error
        pass


class DiskFullWatch(logging.Handler):
    """The first handler of the root logger during a crawl: keeps the first disk-full error any library logs
    (preferring one that names its file) and demotes the library's record to DEBUG without its traceback,
    so the handlers after it skip it — the run's one line says it instead."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.path: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING or record.name.startswith("bijia"):
            return
        exc = record.exc_info[1] if record.exc_info else None
        found = disk_full_path(exc) if exc is not None else None
        if found is None:
            found = disk_full_path(Exception(record.getMessage()))
        if found is None:
            return
        if not self.path:
            self.path = found
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.exc_info, record.exc_text = None, None


@contextmanager
def disk_full_watch() -> Iterator[DiskFullWatch]:
    """Watch the block's log records for a full disk (see :class:`DiskFullWatch`)."""
    root = logging.getLogger()
    watch = DiskFullWatch()
    root.handlers.insert(0, watch)  # before every handler, including those Scrapy installs meanwhile
    try:
        yield watch
    finally:
        root.removeHandler(watch)
