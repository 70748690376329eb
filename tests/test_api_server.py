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


def test_a_request_line_too_long_for_the_server_gets_the_json_error_shape(tmp_path: Path) -> None:
    """uvicorn's own parser refuses a ~100 KB query string before the app sees it; the answer is still the
    API's error shape, not uvicorn's plain-text 400."""
    import uvicorn

    from api.server import server_config

    publish(build_working_db(tmp_path / "w.duckdb"), tmp_path / "snaps")
    server = uvicorn.Server(server_config(create_app(tmp_path / "snaps"), port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    import http.client
    import json

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # httpx refuses such a URL itself
        conn.request("GET", "/api/v1/products?q=" + "x" * 100_000)
        response = conn.getresponse()
        body = response.read()
    finally:
        stop_server(server, thread)
    assert response.status == 400 and response.getheader("content-type") == "application/json"
    assert json.loads(body)["error"]["code"] == "bad_request"
    assert response.getheader("x-content-type-options") == "nosniff"


@pytest.mark.slow
def test_a_burst_of_1000_connections_degrades_into_503s_not_timeouts(tmp_path: Path) -> None:
    """``bijia serve --max-concurrency 8`` under 1,000 connections at once: every one is answered (200 or an
    immediate 503 with Retry-After in the error shape), none times out or is reset."""
    import asyncio

    from benchmarks.bench_burst import fire, server

    publish(build_working_db(tmp_path / "w.duckdb"), tmp_path / "snaps")
    with server(tmp_path / "snaps", limit=8) as port:
        burst = asyncio.run(fire(port, 1000, 30.0, 8))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.get("/api/v1/health").status_code == 200  # and it serves again at once
    assert dict(burst.failures) == {}, burst.line()
    assert set(burst.statuses) <= {200, 503} and burst.statuses[503] > 0 and burst.statuses[200] >= 8, (
        burst.line()
    )


def test_503_when_busy_is_the_error_shape_with_retry_after() -> None:
    import asyncio

    from fastapi import FastAPI

    from api.security import install_security

    app = FastAPI()
    gate = asyncio.Event()

    @app.get("/slow")
    async def slow() -> dict:
        await gate.wait()
        return {}

    @app.get("/fast")
    async def fast() -> dict:
        gate.set()
        return {}

    install_security(app, max_concurrency=1)

    async def scenario() -> tuple:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = asyncio.create_task(client.get("/slow"))
            await asyncio.sleep(0.05)
            refused = await client.get("/fast")
            gate.set()
            return await first, refused

    done, refused = asyncio.run(scenario())
    assert done.status_code == 200  # the request in flight finishes
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "overloaded"
