"""Item pipelines: parse price texts → validate → write to DuckDB staging in batches.

Every dropped offer has a reason and a stats counter ``bijia/dropped/<reason>``; a field cleared to make
an offer storable, ``bijia/cleared/<reason>`` (``crawler.storable``). An offer the database still refuses
is counted ``bijia/errors/storage_rejected`` (the rest of its batch is stored), and ``bijia/staged`` is
what was stored: the offers a marketplace reports.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import duckdb
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from core.offer import Offer
from core.prices import parse_delivery_hours, parse_price, parse_shipping
from crawler.limits import CLEARED, REJECTED
from crawler.storable import make_storable, refusal
from storage import connect
from storage.offers import stage_offers

logger = logging.getLogger(__name__)


def _marketplace(crawler: Crawler):
    return getattr(crawler.spider, "marketplace", None)


def _count(crawler: Crawler | None, key: str, n: int = 1) -> None:
    if crawler is not None and crawler.stats is not None:
        crawler.stats.inc_value(key, n)


class PricePipeline:
    """Parse each ``*_raw`` text whose parsed twin is still empty; fill currency and default shipping."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PricePipeline:
        return cls(crawler)

    def process_item(self, item: Offer) -> Offer:
        market = _marketplace(self.crawler) if self.crawler else None
        hint = item.currency or (market.currency if market else None)
        for field in ("price", "list_price", "final_price"):
            raw = getattr(item, f"{field}_raw")
            if getattr(item, field) is None and raw:
                parsed = parse_price(raw, hint)
                setattr(item, field, parsed.amount)
                if parsed.currency and item.currency is None and field == "price":
                    item.currency = parsed.currency
        if item.shipping is None and item.shipping_raw:
            item.shipping = parse_shipping(item.shipping_raw)
        if item.shipping is None and item.shipping_raw is None and market is not None:
            item.shipping = market.default_shipping
        if item.delivery_hours is None and item.delivery_raw:
            item.delivery_hours = parse_delivery_hours(item.delivery_raw)
        if item.currency is None:
            item.currency = hint
        return item


class ValidatePipeline:
    """Drop offers that cannot be compared or stored (no title, no usable price, absurd or inconsistent
    money, a URL that is not http(s)); clear fields that cannot be stored; round money to cents."""

    def __init__(self, max_price: Decimal = Decimal(10_000_000), crawler: Crawler | None = None) -> None:
        self.max_price = max_price
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(Decimal(str(crawler.settings.getfloat("BIJIA_MAX_PRICE", 10_000_000))), crawler)

    def process_item(self, item: Offer) -> Offer:
        reason = self.problem(item)
        if reason:
            _count(self.crawler, f"bijia/dropped/{reason}")
            logger.warning("dropped %s (%s): %s; price text %r", item.key, item.url, reason, item.price_raw)
            raise DropItem(reason)
        for cleared in make_storable(item, self.max_price):
            _count(self.crawler, CLEARED + cleared)
            logger.info("%s: %s cleared", item.key, cleared)
        return item

    def problem(self, item: Offer) -> str | None:
        return refusal(item, self.max_price)


class DuckDBPipeline:
    """Batch offers into the run's DuckDB staging table (published by ``commit_run`` at the end).

    A listing seen again in the same crawl (a shop repeating items across pages) is dropped as
    ``duplicate``, so the offers counted for a marketplace are the offers stored.
    """

    def __init__(self, db_path: str, run_id: str, batch_size: int = 500, crawler: Crawler | None = None):
        self.db_path, self.run_id, self.batch_size = db_path, run_id, batch_size
        self.crawler = crawler
        self.buffer: list[Offer] = []
        self.seen: set[tuple[str, str]] = set()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.written = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DuckDBPipeline:
        db, run_id = crawler.settings.get("BIJIA_DB"), crawler.settings.get("BIJIA_RUN_ID")
        if not db or not run_id:
            raise NotConfigured("BIJIA_DB and BIJIA_RUN_ID are not set")
        return cls(str(db), str(run_id), crawler.settings.getint("BIJIA_BATCH_SIZE", 500), crawler)

    def open_spider(self) -> None:
        self.con = connect(self.db_path)

    def process_item(self, item: Offer) -> Offer:
        key = (item.marketplace, item.listing_id)
        if key in self.seen:
            _count(self.crawler, "bijia/dropped/duplicate")
            raise DropItem("duplicate")
        self.seen.add(key)
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        if self.buffer and self.con is not None:
            self.written += stage_offers(self.con, self.run_id, self.buffer, on_reject=self.rejected)
            if self.crawler is not None and self.crawler.stats is not None:
                self.crawler.stats.set_value("bijia/staged", self.written)
            self.buffer.clear()

    def rejected(self, offer: Offer, error: str) -> None:
        """The database refused this one offer (the rest of its batch is stored)."""
        _count(self.crawler, REJECTED)
        logger.error("%s (%s) could not be stored: %s", offer.key, offer.url, error)

    def close_spider(self) -> None:
        self.flush()
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.set_value("bijia/staged", self.written)
        if self.con is not None:
            self.con.close()
            self.con = None
