"""Two API replicas, each `bijia serve` on its own copy of the snapshots: `bijia replicate` feeds each,
and both serve the newest snapshot after the writer publishes again (docs/deploy.md)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from storage.replicas import replicate
from storage.snapshots import current_snapshot, list_snapshots, publish
from tests.test_api_data import build_working_db

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serving(base: str, deadline: float) -> str:
    """The snapshot id a replica serves, waiting for it to come up."""
    while True:
        try:
            return httpx.get(f"{base}/api/v1/products/p_xm5", timeout=2).headers["x-snapshot-id"]
        except (httpx.HTTPError, KeyError):
            assert time.monotonic() < deadline, f"{base} did not come up"
            time.sleep(0.1)


def test_two_replicas_follow_the_writer(tmp_path: Path) -> None:
    writer = tmp_path / "writer-snapshots"
    first = publish(build_working_db(tmp_path / "w1.duckdb", days=2), writer)
    replicas = [tmp_path / "replica-a", tmp_path / "replica-b"]
    for replica in replicas:
        assert replicate(writer, replica) == first
    ports = [_free_port() for _ in replicas]
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from cli import app; app()",
                "serve",
                "--snapshots",
                str(r),
                "--port",
                str(p),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for r, p in zip(replicas, ports, strict=True)
    ]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        deadline = time.monotonic() + 30
        assert [_serving(b, deadline) for b in bases] == [first, first]
        second = publish(build_working_db(tmp_path / "w2.duckdb", days=2, price_bump=1), writer)
        assert second != first
        for replica in replicas:
            assert replicate(writer, replica) == second
            assert replicate(writer, replica) == second  # again: nothing to do
        deadline = time.monotonic() + 10
        while [_serving(b, deadline) for b in bases] != [second, second]:
            assert time.monotonic() < deadline, "a replica kept serving the old snapshot"
            time.sleep(0.1)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    for replica in replicas:
        assert current_snapshot(replica).id == second
        assert {s.id for s in list_snapshots(replica)} == {
            first,
            second,
        }  # the old one stays for open readers
