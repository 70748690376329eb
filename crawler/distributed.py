"""Crawling across machines: crawl workers share one frontier in Redis (scrapy-redis); one writer stores.

Every worker runs the same marketplaces. Per marketplace they share scrapy-redis' request queue and
dupefilter, so a page is fetched by one worker only; offers go through the usual price and validation
pipelines and are pushed to one Redis list that the single DuckDB writer drains (``service.distributed``).

scrapy-redis pops a request and forgets it, so a worker killed mid-page would lose that page (its
fingerprint is already in the dupefilter). Here the pop moves the request into the worker's *doing* list
(``LMOVE``, atomic), and it leaves that list only when the page's callback has yielded everything — its
offers pushed, its follow-up requests queued. Each worker keeps a short-lived *alive* key; an idle worker
moves the doing list of a worker whose key expired back onto the queue, and stays open while other live
workers are busy (they may still queue pages). A re-fetched page yields the same offers again; the writer
keeps one per listing. Requests travel as JSON, not pickle: Redis may be shared, and unpickling what
another process wrote would run its code.

Redis keys, all under ``bijia:<run id>:``: ``<marketplace>:requests`` (the queue),
``<marketplace>:requests:doing:<worker>``, ``<marketplace>:dupefilter``, ``<marketplace>:seeding`` /
``seeded`` (the worker queueing the start requests, and that it is done), ``<marketplace>:alive:<worker>``, ``items`` (offers as JSON),
``workers`` (every worker that joined), ``stats`` (per ``<worker>/<marketplace>``: its Scrapy stats).
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import asdict, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Self

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import FifoQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from core.offer import Offer
from crawler import settings as project

ALIVE_TTL_SECONDS = 10
"""A worker silent for this long (setting ``BIJIA_WORKER_TTL``) is taken for dead and its unfinished pages
are queued again; it refreshes its alive key every third of that."""


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Frontier:
    """The Redis keys of one run (and one marketplace, when given), and the few operations on them."""

    def __init__(self, server: redis.Redis, run_id: str, marketplace: str = "", worker: str = "") -> None:
        self.server, self.run_id, self.marketplace, self.worker = server, run_id, marketplace, worker
        self.prefix = f"bijia:{run_id}:"

    def key(self, name: str) -> str:
        return f"{self.prefix}{self.marketplace}:{name}" if self.marketplace else f"{self.prefix}{name}"

    @property
    def queue(self) -> str:
        return self.key("requests")

    def doing(self, worker: str | None = None) -> str:
        return f"{self.queue}:doing:{worker or self.worker}"

    def alive(self, worker: str | None = None) -> str:
        return self.key(f"alive:{worker or self.worker}")

    @property
    def items(self) -> str:
        return f"{self.prefix}items"

    @property
    def stats(self) -> str:
        return f"{self.prefix}stats"

    @property
    def workers(self) -> str:
        return f"{self.prefix}workers"

    def others_doing(self) -> dict[str, str]:
        """Worker → its doing-list key, for every other worker that has one on this marketplace."""
        pattern = self.doing("*")
        found = {k.decode() if isinstance(k, bytes) else k for k in self.server.scan_iter(match=pattern)}
        return {k.rsplit(":", 1)[1]: k for k in found if k.rsplit(":", 1)[1] != self.worker}

    def requeue_dead(self) -> int:
        """Queue again the unfinished pages of workers whose alive key expired; how many."""
        moved = 0
        for worker, doing in self.others_doing().items():
            if self.server.exists(self.alive(worker)):
                continue
            while self.server.lmove(doing, self.queue, "RIGHT", "LEFT") is not None:
                moved += 1
            self.server.delete(doing)
        return moved

    def others_busy(self) -> bool:
        """Does a live worker still hold unfinished pages of this marketplace?"""
        return any(
            self.server.exists(self.alive(w)) and self.server.llen(k) for w, k in self.others_doing().items()
        )

    def take_over_seeding(self) -> bool:
        """Become the seeding worker if the one that started seeding died first (atomic: one taker)."""
        seeder = self.server.get(self.key("seeding"))
        if seeder is None:
            return False
        dead = seeder.decode() if isinstance(seeder, bytes) else str(seeder)
        if dead == self.worker or self.server.exists(self.alive(dead)):
            return False
        swap = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0"
        return bool(self.server.eval(swap, 1, self.key("seeding"), dead, self.worker))

    def live_workers(self) -> int:
        return sum(1 for _ in self.server.scan_iter(match=f"{self.prefix}*:alive:*"))

    def clear(self) -> None:
        """Remove every key of the run (after the writer committed it)."""
        for key in self.server.scan_iter(match=f"{self.prefix}*"):
            self.server.delete(key)


# --- requests and offers as JSON ------------------------------------------------------------------------


OWN_PACKAGES = ("core.", "spiders.", "crawler.")
"""Dataclasses of these packages may travel in a request's ``cb_kwargs`` (e.g. an instant-retail store);
nothing else is rebuilt from what Redis holds."""


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        if not kind.startswith(OWN_PACKAGES):
            raise TypeError(f"cannot send a {kind} through Redis")
        return {"__dataclass__": kind, "fields": _jsonable(asdict(value))}
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Decimal):
        return {"__decimal__": str(value)}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot send a {type(value).__name__} through Redis: {value!r}")


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if "__bytes__" in value:
            return base64.b64decode(value["__bytes__"])
        if "__decimal__" in value:
            return Decimal(value["__decimal__"])
        if "__datetime__" in value:
            return datetime.fromisoformat(value["__datetime__"])
        if "__dataclass__" in value:
            return _dataclass(value["__dataclass__"], _from_json(value["fields"]))
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _dataclass(kind: str, fields: dict[str, Any]) -> Any:
    module, _, name = kind.rpartition(".")
    cls = getattr(importlib.import_module(module), name, None) if kind.startswith(OWN_PACKAGES) else None
    if not isinstance(cls, type) or not is_dataclass(cls):
        raise ValueError(f"not a bijia dataclass: {kind!r}")
    return cls(**fields)


class JsonSerializer:
    """scrapy-redis' serializer interface (``dumps``/``loads``) for request dicts, in JSON."""

    @staticmethod
    def dumps(obj: dict[str, Any]) -> bytes:
        return json.dumps(_jsonable(obj), separators=(",", ":")).encode()

    @staticmethod
    def loads(data: bytes) -> dict[str, Any]:
        return _from_json(json.loads(data))


def offer_to_json(offer: Offer) -> bytes:
    return json.dumps(_jsonable(asdict(offer)), ensure_ascii=False, separators=(",", ":")).encode()


def offer_from_json(data: bytes) -> Offer:
    return Offer(**_from_json(json.loads(data)))


# --- the scheduler side ---------------------------------------------------------------------------------

QUEUED = "bijia_queued"
"""Request meta: the queue entry a request was popped as, to remove it from the doing list when done."""


class ReliableQueue(FifoQueue):
    """scrapy-redis' FIFO queue whose pop moves the request to this worker's doing list (``LMOVE``)."""

    def __init__(self, server: redis.Redis, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        self.frontier = frontier_of(spider.crawler, server)

    def _decode_request(self, encoded_request: bytes) -> Request:
        # scrapy-redis passes ``spider=`` to the callbacks' lookup; the request dict is ours (JSON)
        return request_from_dict(self.serializer.loads(encoded_request), spider=self.spider)

    def pop(self, timeout: int = 0) -> Request | None:
        data = self.server.lmove(self.key, self.frontier.doing(), "RIGHT", "LEFT")
        if data is None:
            return None
        request = self._decode_request(data)
        request.meta[QUEUED] = base64.b64encode(data).decode("ascii")
        return request


class SharedScheduler(Scheduler):
    """scrapy-redis' scheduler with the reliable queue and JSON requests, keyed per run and marketplace.

    Overrides what scrapy-redis 0.9.1 does with APIs Scrapy 2.13+ deprecates (the ``spider`` argument of
    stats calls), instead of silencing Scrapy's deprecation warnings.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        server = redis_client(settings.get("REDIS_URL"))
        run_id = settings.get("BIJIA_RUN_ID")
        instance = cls(
            server=server,
            persist=True,
            queue_key=f"bijia:{run_id}:%(spider)s:requests",
            queue_cls="crawler.distributed.ReliableQueue",
            dupefilter_key=f"bijia:{run_id}:%(spider)s:dupefilter",
            dupefilter_cls="scrapy_redis.dupefilter.RFPDupeFilter",
            serializer=JsonSerializer(),
        )
        instance.stats = crawler.stats
        return instance

    def open(self, spider: Spider) -> None:
        self.df = RFPDupeFilter(self.server, key=self.dupefilter_key % {"spider": spider.name})
        super().open(spider)

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Request | None:
        request = self.queue.pop()
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request


def redis_client(url: str | None) -> redis.Redis:
    if not url:
        raise NotConfigured("REDIS_URL is not set")
    return redis.Redis.from_url(url, socket_timeout=30)


def frontier_of(crawler: Crawler, server: redis.Redis | None = None) -> Frontier:
    settings = crawler.settings
    spider = crawler.spider
    return Frontier(
        server or redis_client(settings.get("REDIS_URL")),
        settings.get("BIJIA_RUN_ID"),
        spider.name if spider is not None else "",
        settings.get("BIJIA_WORKER_ID"),
    )


# --- the spider and item side ---------------------------------------------------------------------------


class SharedFrontierMiddleware:
    """Spider middleware: one worker queues the start requests; a page leaves the doing list once its
    callback has yielded everything (so its offers were pushed and its follow-up requests queued)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.server = redis_client(crawler.settings.get("REDIS_URL"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        frontier = frontier_of(self.crawler, self.server)
        if not self.server.set(frontier.key("seeding"), frontier.worker, nx=True):
            return  # another worker queues them; this one takes pages from the shared queue
        async for item_or_request in start:
            yield item_or_request
        self.server.set(frontier.key("seeded"), frontier.worker)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for item_or_request in result:
            yield item_or_request
        entry = response.request.meta.get(QUEUED) if response.request is not None else None
        if entry:
            frontier = frontier_of(self.crawler, self.server)
            self.server.lrem(frontier.doing(), 1, base64.b64decode(entry))  # type: ignore[arg-type]  # bytes work


class RedisOfferPipeline:
    """The last item pipeline of a worker: push the offer to the run's Redis list for the writer.

    Synchronous on purpose: when the spider middleware above marks a page done, its offers are in Redis."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.frontier = Frontier(
            redis_client(crawler.settings.get("REDIS_URL")), crawler.settings.get("BIJIA_RUN_ID")
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Offer) -> Offer:
        self.frontier.server.rpush(self.frontier.items, offer_to_json(item))
        return item


class WorkerLiveness:
    """Extension: keeps this worker's alive key fresh, queues again the pages of dead workers, keeps the
    spider open while others are busy, and leaves its stats for the writer when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.server = redis_client(crawler.settings.get("REDIS_URL"))
        self.ttl = crawler.settings.getint("BIJIA_WORKER_TTL", ALIVE_TTL_SECONDS)
        self.beat: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured("not a distributed crawl")
        ext = cls(crawler)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    @property
    def frontier(self) -> Frontier:
        return frontier_of(self.crawler, self.server)

    def heartbeat(self) -> None:
        self.server.set(self.frontier.alive(), "1", ex=self.ttl)

    def opened(self) -> None:
        self.server.sadd(self.frontier.workers, self.frontier.worker)
        self.heartbeat()
        self.beat = task.LoopingCall(self.heartbeat)
        self.beat.start(self.ttl / 3, now=False)

    def idle(self) -> None:
        frontier = self.frontier
        self.server.delete(frontier.doing())  # idle: nothing of this worker is in flight
        moved = frontier.requeue_dead()
        if moved and self.crawler.stats is not None:
            self.crawler.stats.inc_value("bijia/distributed/requeued", moved)
        if not self.server.exists(frontier.key("seeded")):
            if frontier.take_over_seeding():
                deferred_from_coro(self.seed_again())
            raise DontCloseSpider  # the start requests are still being queued
        if self.server.llen(frontier.queue) or frontier.others_busy():
            raise DontCloseSpider

    async def seed_again(self) -> None:
        """Queue the start requests the dead seeding worker may not have queued (the dupefilter drops
        those it had)."""
        spider, engine = self.crawler.spider, self.crawler.engine
        assert spider is not None and engine is not None
        async for item_or_request in spider.start():
            if isinstance(item_or_request, Request):
                engine.crawl(item_or_request)
        self.server.set(self.frontier.key("seeded"), self.frontier.worker)

    def closed(self, reason: str) -> None:
        if self.beat is not None and self.beat.running:
            self.beat.stop()
        frontier = self.frontier
        stats = self.crawler.stats.get_stats() if self.crawler.stats is not None else {}
        payload = json.dumps({k: v for k, v in stats.items() if isinstance(v, int | float | str)})
        self.server.hset(frontier.stats, f"{frontier.worker}/{frontier.marketplace}", payload)
        if reason == "finished":
            self.server.delete(frontier.doing())
        self.server.delete(frontier.alive())


def worker_settings(redis_url: str, worker: str, alive_ttl: int = ALIVE_TTL_SECONDS) -> dict[str, Any]:
    """Settings that turn a crawl into a worker of a shared frontier (the caller sets BIJIA_RUN_ID)."""
    return {
        "REDIS_URL": redis_url,
        "BIJIA_WORKER_ID": worker,
        "BIJIA_WORKER_TTL": alive_ttl,
        "SCHEDULER": "crawler.distributed.SharedScheduler",
        # merged with the project's: a dict set here replaces theirs (the crawl guards stay on)
        "SPIDER_MIDDLEWARES": {
            **project.SPIDER_MIDDLEWARES,
            "crawler.distributed.SharedFrontierMiddleware": 10,
        },
        "EXTENSIONS": {"crawler.distributed.WorkerLiveness": 500},
        "ITEM_PIPELINES": {
            "crawler.pipelines.PricePipeline": 100,
            "crawler.pipelines.ValidatePipeline": 200,
            "crawler.distributed.RedisOfferPipeline": 300,
        },
    }
