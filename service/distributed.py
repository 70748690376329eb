"""``bijia worker`` and ``bijia collect``: one crawl spread over several machines.

Workers (any number, on any machines that reach the shops and the Redis server) crawl the run's
marketplaces from one shared frontier (``crawler.distributed``) and push offers to Redis. One writer,
beside the DuckDB file, records the run, drains the offers into staging as they come (one per listing),
and when no worker is left and nothing is queued commits the run exactly as ``bijia crawl`` does.
After that, ``bijia match`` and ``bijia publish`` (or the rest of a cron job) go on as usual.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis
from scrapy.crawler import AsyncCrawlerProcess, Crawler

from core.offer import Offer
from core.redact import redact_url
from crawler.config import Marketplace, load_marketplaces
from crawler.distributed import (
    ALIVE_TTL_SECONDS,
    Frontier,
    offer_from_json,
    redis_client,
    worker_id,
    worker_settings,
)
from crawler.runner import CrawlReport, MarketplaceReport, crawl_settings, marketplace_status
from service.errors import UserError
from storage import connected
from storage.offers import commit_run, stage_offers, staged_count, start_run

log = logging.getLogger("bijia.distributed")
BATCH = 500


def _server(redis_url: str) -> redis.Redis:
    server = redis_client(redis_url)
    try:
        server.ping()
    except redis.RedisError as exc:
        raise UserError(f"Redis at {redact_url(redis_url)}: {exc}") from None
    return server


@dataclass
class CollectReport:
    crawl: CrawlReport
    requeued: int
    """Pages taken by a worker that stopped before finishing them, queued again for the others."""
    repeated: int
    """Offers that arrived twice (a page fetched again after its worker stopped) and were stored once."""


@dataclass
class WorkerReport:
    worker: str
    marketplaces: dict[str, dict[str, Any]] = field(default_factory=dict)


def work(
    redis_url: str,
    run_id: str,
    config: Path | None = None,
    *,
    only: Sequence[str] | None = None,
    log_level: str = "ERROR",
    alive_ttl: int = ALIVE_TTL_SECONDS,
) -> WorkerReport:
    """Crawl the run's marketplaces as one worker of the shared frontier, until the run has no work left."""
    _server(redis_url)
    markets = load_marketplaces(config, only=list(only) if only else None)
    worker = worker_id()
    settings = crawl_settings(
        Path("unused.duckdb"),
        run_id,
        log_level=log_level,
        extra=worker_settings(redis_url, worker, alive_ttl),
    )
    process = AsyncCrawlerProcess(settings)
    crawlers = {}
    for market in markets:
        spider_settings = settings.copy()
        # take from the shared queue no more pages than this worker fetches at once, so that every worker
        # gets a share (a Scrapy engine otherwise pulls up to CONCURRENT_REQUESTS into its own downloader)
        spider_settings.set("CONCURRENT_REQUESTS", market.concurrency, priority="cmdline")
        crawler = process.create_crawler(Crawler(process.spider_loader.load(market.shape), spider_settings))
        crawlers[market.name] = crawler
        process.crawl(crawler, marketplace=market)
    process.start(install_signal_handlers=True)
    report = WorkerReport(worker)
    for name, crawler in crawlers.items():
        stats = crawler.stats.get_stats() if crawler.stats else {}
        report.marketplaces[name] = {
            "pages": int(stats.get("response_received_count", 0)),
            "offers": int(stats.get("item_scraped_count", 0)),
            "finish_reason": str(stats.get("finish_reason", "")),
        }
    return report


def collect(
    redis_url: str,
    run_id: str,
    db: Path,
    config: Path | None = None,
    *,
    only: Sequence[str] | None = None,
    wait_for_workers: float = 300.0,
    poll: float = 1.0,
) -> CollectReport:
    """Be the run's only writer: record the run, stage the workers' offers, commit when the crawl is over.

    The crawl is over when a worker has joined, none is alive any more, no offer is left in Redis and no
    page is left to fetch. When the workers are gone with pages left, the writer waits ``wait_for_workers``
    seconds for new ones (also the wait for the first), then commits without those marketplaces.
    """
    server = _server(redis_url)
    markets = load_marketplaces(config, only=list(only) if only else None)
    frontier = Frontier(server, run_id)
    last_worker = time.monotonic()
    with connected(db) as con:
        start_run(con, run_id, "crawl", [m.name for m in markets])
        writer = _Writer(con, run_id, {m.name for m in markets})
        while True:
            if writer.drain(frontier):
                continue
            if frontier.live_workers():
                last_worker = time.monotonic()
            elif server.scard(frontier.workers) and not server.llen(frontier.items):
                left = _pages_left(server, run_id, markets)
                if not any(left.values()) or time.monotonic() - last_worker > wait_for_workers:
                    break
            elif time.monotonic() - last_worker > wait_for_workers:
                raise UserError(f"run {run_id}: no worker joined within {wait_for_workers:.0f} s")
            time.sleep(poll)
        left = _pages_left(server, run_id, markets)
        reports, requeued = _reports(markets, server, frontier, staged_count(con, run_id), left)
        ok = [r.name for r in reports if r.status != "failed"]
        overall = "finished" if len(ok) == len(reports) else ("partial" if ok else "failed")
        published = commit_run(
            con, run_id, ok, overall, {"marketplaces": {r.name: r.to_dict() for r in reports}}
        )
    frontier.clear()
    return CollectReport(CrawlReport(run_id, overall, published, reports), requeued, writer.repeated)


def _pages_left(server: redis.Redis, run_id: str, markets: list[Marketplace]) -> dict[str, int]:
    """Per marketplace: pages queued or taken by a worker that did not finish them."""
    left = {}
    for market in markets:
        frontier = Frontier(server, run_id, market.name)
        doing = sum(server.llen(k) for k in frontier.others_doing().values())
        left[market.name] = int(server.llen(frontier.queue)) + int(doing)
    return left


class _Writer:
    """Stages offers batch by batch, one per listing (a page fetched again after a worker died repeats them).

    A batch leaves Redis only after it is staged: a writer killed in between reads it again when it is
    started again with the same run id, and staging the same listing twice keeps one row."""

    def __init__(self, con: Any, run_id: str, marketplaces: set[str]) -> None:
        self.con, self.run_id, self.marketplaces = con, run_id, marketplaces
        self.seen: set[tuple[str, str]] = set()
        self.repeated = 0

    def drain(self, frontier: Frontier) -> int:
        """Stage up to a batch of offers from Redis; how many were taken."""
        raw = cast(list[bytes], frontier.server.lrange(frontier.items, 0, BATCH - 1))
        fresh: list[Offer] = []
        for data in raw:
            offer = offer_from_json(data)
            key = (offer.marketplace, offer.listing_id)
            if offer.marketplace not in self.marketplaces or key in self.seen:
                self.repeated += 1
                continue
            self.seen.add(key)
            fresh.append(offer)
        if fresh:
            stage_offers(self.con, self.run_id, fresh)
        frontier.server.ltrim(frontier.items, len(raw), -1)
        return len(raw)


def _reports(
    markets: list[Marketplace],
    server: redis.Redis,
    frontier: Frontier,
    staged: dict[str, int],
    left: dict[str, int],
) -> tuple[list[MarketplaceReport], int]:
    """Per marketplace: the workers' Scrapy stats summed, the offers counted as stored (one per listing);
    and how many pages were queued again after their worker stopped."""
    per_market: dict[str, dict[str, Any]] = defaultdict(dict)
    finishes: dict[str, set[str]] = defaultdict(set)
    for field_name, payload in server.hgetall(frontier.stats).items():
        _worker, name = (field_name.decode() if isinstance(field_name, bytes) else field_name).split("/", 1)
        for key, value in json.loads(payload).items():
            if key == "finish_reason":
                finishes[name].add(value)
            elif key == "elapsed_time_seconds":  # the workers ran side by side: the longest, not the sum
                per_market[name][key] = max(per_market[name].get(key, 0.0), value)
            elif isinstance(value, int | float):
                per_market[name][key] = per_market[name].get(key, 0) + value
    reports = []
    for market in markets:
        stats = per_market.get(market.name, {})
        stats["item_scraped_count"] = staged.get(market.name, 0)
        # a worker closes a marketplace as "finished" only when nothing is queued and no live worker is busy
        reasons = finishes.get(market.name) or {"no worker finished it"}
        stats["finish_reason"] = "finished" if "finished" in reasons else ", ".join(sorted(reasons))
        if left.get(market.name):  # the workers are gone with pages left: not a whole crawl, not published
            stats["finish_reason"] = f"workers gone with {left[market.name]} page(s) left"
        status, reason, errors = marketplace_status(stats)
        dropped = {k.split("/", 2)[2]: int(v) for k, v in stats.items() if k.startswith("bijia/dropped/")}
        reports.append(
            MarketplaceReport(
                market.name,
                status,
                int(stats.get("response_received_count", 0)),
                staged.get(market.name, 0),
                sum(dropped.values()),
                errors,
                round(float(stats.get("elapsed_time_seconds", 0.0)), 2),
                reason,
                dropped,
                stats["finish_reason"],
            )
        )
    requeued = sum(int(s.get("bijia/distributed/requeued", 0)) for s in per_market.values())
    return reports, requeued
