"""A crawl spread over several workers sharing one frontier in Redis, one writer storing: three workers on
127.0.0.1, one SIGKILLed mid-crawl, and the stored offers are exactly the catalogue's truth.

Redis is Debian's ``redis-server`` (installed by ``scripts/setup.sh``), started here on a free port.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from crawler.distributed import Frontier, JsonSerializer, offer_from_json, offer_to_json
from demo.catalogue import generate_catalogue
from demo.faults import Faults
from demo.server import DemoServer
from tests.test_faults_harness import BIJIA, PLAIN_SHOPS, ROOT, assert_exact, bijia_env, newest_run, truth

pytestmark = pytest.mark.slow
RUN = "dist-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (scripts/setup.sh installs Debian's redis-server)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*BIJIA, *args], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def test_three_workers_one_killed_store_exactly_the_truth(tmp_path: Path, redis_url: str):
    db = tmp_path / "dist.duckdb"
    shops = [a for s in PLAIN_SHOPS for a in ("-m", s)]
    client = redis.Redis.from_url(redis_url)
    with DemoServer(generate_catalogue(40, 5), faults=Faults(slow_ms=300)) as server:
        env = bijia_env(server.base_url)
        common = ["--redis", redis_url, "--run-id", RUN, *shops]
        writer = _start(["collect", *common, "--db", str(db), "--wait", "180"], env, tmp_path / "collect.log")
        workers = [_start(["worker", *common], env, tmp_path / f"worker{i}.log") for i in range(3)]
        doing = {
            w.pid: [
                Frontier(client, RUN, shop).doing(f"{socket.gethostname()}-{w.pid}") for shop in PLAIN_SHOPS
            ]
            for w in workers
        }
        deadline = time.monotonic() + 180  # generous: a loaded machine starts Scrapy slowly
        # kill the first worker seen holding unfinished pages (on a loaded machine one may start after the
        # others took every page, and finish with none)
        while (
            victim := next((w for w in workers if any(client.llen(k) for k in doing[w.pid])), None)
        ) is None:
            assert time.monotonic() < deadline, [
                (tmp_path / f"worker{i}.log").read_text()[-500:] for i in range(3)
            ]
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        for proc in (*workers, writer):
            proc.wait(timeout=600)
        expected = truth(server)
    log = (tmp_path / "collect.log").read_text()
    assert writer.returncode == 0, log
    assert "page(s) of stopped workers fetched again" in log  # the killed worker's pages were taken over
    assert [w.returncode for w in workers] == [-signal.SIGKILL if w is victim else 0 for w in workers]
    assert_exact(db, expected, PLAIN_SHOPS)  # nothing lost with the killed worker, nothing stored twice
    run = newest_run(db)
    assert run["run_id"] == RUN and run["status"] == "finished"
    for shop in PLAIN_SHOPS:
        assert run["stats"]["marketplaces"][shop]["offers"] == len(expected[shop])
        assert run["stats"]["marketplaces"][shop]["status"] == "ok"
    assert not list(client.scan_iter(match=f"bijia:{RUN}:*"))  # the writer cleaned up after committing


def test_requests_and_offers_travel_as_json_not_pickle():
    from decimal import Decimal

    from core.offer import Offer
    from spiders.pages.instant import Store

    request = {
        "url": "http://127.0.0.1/x",
        "body": b"\x00\xff",
        "cb_kwargs": {"store": Store("1", "s", 1.5, 30.0, Decimal("3.00")), "page": 2},
    }
    data = JsonSerializer.dumps(request)
    assert data.startswith(b"{") and JsonSerializer.loads(data) == request
    offer = Offer("m", "1", "http://127.0.0.1/p", "t", price=Decimal("19.90"))
    assert offer_from_json(offer_to_json(offer)) == offer


def test_only_bijia_dataclasses_are_rebuilt_from_redis():
    hostile = b'{"x":{"__dataclass__":"subprocess.Popen","fields":{"args":["true"]}}}'
    with pytest.raises(ValueError, match="not a bijia dataclass"):
        JsonSerializer.loads(hostile)


def test_when_every_worker_is_gone_the_writer_waits_then_publishes_only_whole_crawls(
    tmp_path: Path, redis_url: str
):
    """The only worker is killed with pages left: after --wait the writer commits, publishing nothing of the
    shops whose crawl was cut short (their previous offers stay), and says so (exit 3 or 4)."""
    db = tmp_path / "dist.duckdb"
    client = redis.Redis.from_url(redis_url)
    with DemoServer(generate_catalogue(40, 5), faults=Faults(slow_ms=300)) as server:
        env = bijia_env(server.base_url)
        common = ["--redis", redis_url, "--run-id", RUN, "-m", "techmall"]
        worker = _start(["worker", *common, "--alive-ttl", "2"], env, tmp_path / "worker.log")
        doing = Frontier(client, RUN, "techmall").doing(f"{socket.gethostname()}-{worker.pid}")
        deadline = time.monotonic() + 180  # generous: a loaded machine starts Scrapy slowly
        while not client.llen(doing):
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-2000:]
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        # the writer comes after the worker is gone (so --wait only measures the grace for new workers)
        writer = _start(["collect", *common, "--db", str(db), "--wait", "2"], env, tmp_path / "collect.log")
        writer.wait(timeout=120)
    log = (tmp_path / "collect.log").read_text()
    assert writer.returncode == 4, log
    run = newest_run(db)
    assert run["status"] == "failed"
    assert "workers gone with" in run["stats"]["marketplaces"]["techmall"]["reason"]
    assert "workers gone with" in log


def test_a_dead_seeding_worker_is_replaced_by_exactly_one_other(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    seeding = Frontier(client, RUN, "techmall", "dead-1").key("seeding")
    client.set(seeding, "dead-1")  # it started queueing the start pages, then died (no alive key)
    live = [Frontier(client, RUN, "techmall", f"w{i}") for i in range(3)]
    for frontier in live:
        client.set(frontier.alive(), "1")
    assert [f.take_over_seeding() for f in live] == [True, False, False]
    assert client.get(seeding) == b"w0"
    client.delete(live[0].alive())  # now the new seeder dies too: the next one takes over
    assert live[1].take_over_seeding() and client.get(seeding) == b"w1"
