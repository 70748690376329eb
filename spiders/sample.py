"""A few pages of some marketplaces, crawled exactly as ``bijia crawl`` crawls them — the real spider of
each shape (``spiders.registry``), robots.txt, retries, the price and validation pipelines — but kept in
memory instead of the database: what ``bijia marketplaces check`` and the preview of ``marketplaces add``
show.

Scrapy's reactor cannot restart in a process, so each sample runs in a child process
(``python -m spiders.sample IN OUT``) that reads the marketplaces from JSON and writes what it saw. Its
Scrapy log level is ``ERROR`` unless ``BIJIA_SAMPLE_LOG`` says otherwise (``INFO`` to debug a check).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.offer import Offer
from crawler.config import Marketplace
from crawler.runner import marketplace_status

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAGES = 1
DEFAULT_ITEMS = 50
IGNORED = "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest"
"""Requests a downloader middleware refused: robots.txt's disallowed pages among them."""


@dataclass
class Sample:
    """What one marketplace's sample crawl saw: usable offers, drop reasons and the crawl's stats."""

    name: str
    status: str  # ok | degraded | failed
    reason: str
    pages: int
    offers: list[dict[str, Any]] = field(default_factory=list)
    """Usable offers (after the price and validation pipelines), as JSON."""
    dropped: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    """The crawl's ``bijia/…`` counters (``bijia/disagreement/…`` among them)."""


class SampleFailed(Exception):
    """The sample crawl's process failed (its last words are the message)."""


def limited(m: Marketplace, pages: int) -> Marketplace:
    return m.model_copy(update={"max_pages": min(pages, m.max_pages or pages)})


def sample_crawl(
    markets: list[Marketplace],
    *,
    pages: int = DEFAULT_PAGES,
    items: int = DEFAULT_ITEMS,
    timeout: float = 10.0,
    total_timeout: float = 300.0,
) -> dict[str, Sample]:
    """Crawl ``pages`` listing pages (and at most ``items`` offers) of each marketplace in a child
    process; ``timeout`` is each request's, ``total_timeout`` the whole sample's."""
    with tempfile.TemporaryDirectory(prefix="bijia-sample-") as tmp:
        source, out = Path(tmp) / "in.json", Path(tmp) / "out.json"
        job = {
            "marketplaces": [limited(m, pages).model_dump(mode="json") for m in markets],
            "items": items,
            "timeout": timeout,
            "total_timeout": total_timeout,
        }
        source.write_text(json.dumps(job), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "spiders.sample", str(source), str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=total_timeout + 60,
            check=False,
        )
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise SampleFailed("the sample crawl failed: " + " | ".join(tail))
        data = json.loads(out.read_text(encoding="utf-8"))
    return {name: Sample(**sample) for name, sample in data.items()}


def offer_json(offer: Offer) -> dict[str, Any]:
    out = {}
    for key, value in offer.to_dict().items():
        if key == "observed_at":
            continue
        out[key] = str(value) if isinstance(value, Decimal) else value
    return out


def _run(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from scrapy import signals
    from scrapy.crawler import AsyncCrawlerProcess, Crawler
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(
        {
            "ITEM_PIPELINES": {
                "crawler.pipelines.PricePipeline": 100,
                "crawler.pipelines.ValidatePipeline": 200,
            },
            "CLOSESPIDER_ITEMCOUNT": job["items"],
            "CLOSESPIDER_TIMEOUT": job["total_timeout"],
            "DOWNLOAD_TIMEOUT": job["timeout"],
            "LOG_LEVEL": os.environ.get("BIJIA_SAMPLE_LOG", "ERROR"),
            "HTTPCACHE_ENABLED": False,
        },
        priority="cmdline",
    )
    process = AsyncCrawlerProcess(settings)
    crawlers, offers = {}, {}
    for raw in job["marketplaces"]:
        market = Marketplace.model_validate(raw)
        crawler = process.create_crawler(Crawler(process.spider_loader.load(market.shape), settings.copy()))
        kept: list[dict[str, Any]] = []
        crawler.signals.connect(
            lambda item, _kept=kept, **kw: _kept.append(offer_json(item)),
            signal=signals.item_scraped,
            weak=False,
        )
        crawlers[market.name], offers[market.name] = crawler, kept
        process.crawl(crawler, marketplace=market)
    process.start(install_signal_handlers=False)
    out = {}
    for name, crawler in crawlers.items():
        stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
        if stats.get("finish_reason") == "closespider_itemcount":  # the sample's own bound, not a failure
            stats["finish_reason"] = "finished"
        stats.pop("bijia/limits/max_pages", None)  # the sample's page bound cut it on purpose
        status, reason, _errors = marketplace_status(stats)
        out[name] = {
            "name": name,
            "status": status,
            "reason": reason,
            "pages": int(stats.get("response_received_count", 0)),
            "offers": offers[name],
            "dropped": {
                k.split("/", 2)[2]: int(v) for k, v in stats.items() if k.startswith("bijia/dropped/")
            },
            "stats": {
                k: v
                for k, v in stats.items()
                if k.startswith(("bijia/", "robotstxt/", IGNORED)) and isinstance(v, int | float)
            },
        }
    return out


def main(argv: list[str]) -> int:
    source, out = Path(argv[0]), Path(argv[1])
    result = _run(json.loads(source.read_text(encoding="utf-8")))
    out.write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
