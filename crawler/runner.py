"""Run a crawl of some marketplaces into a DuckDB file and publish it as one run.

Scrapy's own exit is 0 even when pages failed, so each marketplace's outcome is derived from its crawl
stats (``marketplace_status``). Only marketplaces that yielded offers are published; the rest keep their
previously published offers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.config import Marketplace

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

    @property
    def failed(self) -> list[str]:
        return [m.name for m in self.marketplaces if m.status == "failed"]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def marketplace_status(stats: dict[str, Any]) -> tuple[str, str, int]:
    """(status, reason, error count) for one marketplace from its Scrapy stats."""
    offers = int(stats.get("item_scraped_count", 0))
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
    from scrapy import signals
    from scrapy.crawler import AsyncCrawlerProcess, Crawler

    from storage import connect
    from storage.offers import commit_run, start_run

    run_id = run_id or new_run_id()
    names = [m.name for m in marketplaces]
    con = connect(db_path)
    try:
        start_run(con, run_id, "crawl", names)
    finally:
        con.close()

    settings = crawl_settings(db_path, run_id, log_level=log_level, extra=extra_settings)
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

    reports = []
    for market in marketplaces:
        stats = crawlers[market.name].stats.get_stats() if crawlers[market.name].stats else {}
        status, reason, errors = marketplace_status(stats)
        dropped = {k.split("/", 2)[2]: int(v) for k, v in stats.items() if k.startswith("bijia/dropped/")}
        seconds = 0.0
        if stats.get("start_time") and stats.get("finish_time"):
            seconds = (stats["finish_time"] - stats["start_time"]).total_seconds()
        reports.append(
            MarketplaceReport(
                market.name,
                status,
                int(stats.get("response_received_count", 0)),
                int(stats.get("item_scraped_count", 0)),
                sum(dropped.values()),
                errors,
                round(seconds, 2),
                reason,
                dropped,
                str(stats.get("finish_reason", "")),
                {k.split("/", 2)[2]: int(v) for k, v in stats.items() if k.startswith("bijia/disagreement/")},
            )
        )
    ok = [r.name for r in reports if r.status != "failed"]
    overall = "finished" if len(ok) == len(reports) else ("partial" if ok else "failed")
    if not publish:
        return CrawlReport(run_id, overall, 0, reports)
    con = connect(db_path)
    try:
        published = commit_run(
            con, run_id, ok, overall, {"marketplaces": {r.name: r.to_dict() for r in reports}}
        )
    finally:
        con.close()
    return CrawlReport(run_id, overall, published, reports)
