"""The API under a real uvicorn on 127.0.0.1: snapshots swapped under concurrent requests, none fails."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from storage.snapshots import current_snapshot, list_snapshots, publish
from tests.test_api_data import build_working_db, run_server, stop_server

URLS = [
    "/api/v1/products/p_iphone15pro",
    "/api/v1/products?q=苹果",
    "/api/v1/products?q=cable&limit=5",
    "/api/v1/compare?ids=p_xm5,p_mate60",
    "/api/v1/products/p_xm5/history",
    "/api/v1/marketplaces",
    "/api/v1/products/p_mate60?format=csv",
]


@pytest.fixture
def served(tmp_path: Path):
    workings = [build_working_db(tmp_path / f"w{i}.duckdb", days=2, price_bump=i) for i in range(3)]
    publish(workings[0], tmp_path / "snaps", keep=2)
    server, thread, base = run_server(create_app(tmp_path / "snaps", check_interval=0.1))
    yield base, workings, tmp_path / "snaps"
    stop_server(server, thread)


def test_real_server_answers_with_caching_headers(served) -> None:
    base, _, snaps = served
    with httpx.Client(base_url=base) as client:
        first = client.get("/api/v1/products/p_iphone15pro")
        assert first.status_code == 200 and first.headers["x-snapshot-id"] == current_snapshot(snaps).id
        again = client.get("/api/v1/products/p_iphone15pro", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert client.get("/api/v1/products?limit=101").json()["error"]["code"] == "invalid_parameter"


def test_snapshot_swaps_under_concurrent_requests_fail_nothing(served) -> None:
    base, workings, snaps = served
    stop = threading.Event()
    failures: list[str] = []
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def hammer(n: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            i = n
            while not stop.is_set():
                url = URLS[i % len(URLS)]
                i += 1
                try:
                    response = client.get(url)
                    ok = response.status_code == 200 and response.content
                except httpx.HTTPError as exc:
                    ok, response = False, exc
                with lock:
                    if ok:
                        seen[response.headers["x-snapshot-id"]] += 1
                    else:
                        failures.append(f"{url}: {response!r}")

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    published = [current_snapshot(snaps).id]
    try:
        for i in range(5):
            time.sleep(0.4)
            published.append(publish(workings[(i + 1) % 3], snaps, keep=2))
        time.sleep(0.6)  # > check_interval: every worker thread now reads the last snapshot
        with lock:
            before = seen[published[-1]]
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=20)
    assert failures == []
    assert sum(seen.values()) > 100
    assert seen[published[-1]] > before  # requests switched to the newest snapshot
    assert len([s for s in published if seen[s]]) >= 3  # and saw the intermediate swaps too
    assert [s.id for s in list_snapshots(snaps)] == published[-2:]  # old files were cleaned up meanwhile
    with httpx.Client(base_url=base) as client:
        body = client.get("/api/v1/products/p_iphone15pro").json()
    assert body["snapshot"] == published[-1]


def test_the_multi_worker_socket_is_tcp_without_delay() -> None:
    import socket

    from api.server import TcpConfig

    sock = TcpConfig("api.app:app_from_env", factory=True, host="127.0.0.1", port=0, workers=2).bind_socket()
    try:
        assert sock.proto == socket.IPPROTO_TCP  # so asyncio sets TCP_NODELAY on each connection
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()
