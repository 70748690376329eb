"""A burst of connections against ``bijia serve``: do they degrade into fast 503s or into timeouts?

    .venv/bin/python benchmarks/bench_burst.py --snapshots /tmp/bijia-bench/snapshots --connections 1000
    .venv/bin/python benchmarks/bench_burst.py --limits 0,64 --runs 3     # no limit vs the default

Starts ``bijia serve --max-concurrency N`` on a free port of 127.0.0.1 (a subprocess: its own 2 cores
and file descriptors), opens ``--connections`` connections at once, each sending one request (a mix of
searches and product pages, like a page load storm), waits up to ``--timeout`` seconds for each answer,
and counts 200s, 503s, other statuses and failures (timeouts, resets). Without ``--snapshots`` a small
synthetic snapshot is built with ``make_snapshot.py``. Prints one line per limit and run, then medians.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIJIA = ROOT / ".venv" / "bin" / "bijia"
PATHS = [
    "/api/v1/products?q=apple&limit=20",
    "/api/v1/products?q=%E5%8D%8E%E4%B8%BA%20%E6%89%8B%E6%9C%BA&limit=20",
    "/api/v1/products?q=sony&sort=price&limit=100",
    "/api/v1/products?q=a&limit=100&format=csv",
    "/api/v1/products?limit=100",
    "/api/v1/marketplaces",
]


@dataclass
class Burst:
    limit: int
    connections: int
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        lat = sorted(self.latencies) or [0.0]
        p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        codes = ", ".join(f"{k}×{v}" for k, v in sorted(self.statuses.items()))
        fails = ", ".join(f"{k}×{v}" for k, v in sorted(self.failures.items())) or "none"
        limit = self.limit or "none"
        return (
            f"limit {limit!s:>4}: {self.connections} connections in {self.seconds:.2f}s — {codes}; "
            f"failures: {fails}; p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server(snapshots: Path, limit: int, workers: int = 1) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            *(str(BIJIA), "serve", "--snapshots", str(snapshots), "--port", str(port)),
            *("--workers", str(workers), "--max-concurrency", str(limit)),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("bijia serve did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _one(port: int, path: str, timeout: float, burst: Burst, start: asyncio.Event) -> None:
    await start.wait()
    began = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            status_line = await reader.readline()
            await reader.read()  # the whole answer
            writer.close()
        burst.statuses[int(status_line.split()[1])] += 1
        burst.latencies.append(time.monotonic() - began)
    except TimeoutError:
        burst.failures["timeout"] += 1
    except (OSError, IndexError, ValueError) as exc:
        burst.failures[type(exc).__name__] += 1


async def fire(port: int, connections: int, timeout: float, limit: int) -> Burst:
    """``connections`` requests at once against 127.0.0.1:``port``."""
    burst = Burst(limit, connections)
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(_one(port, PATHS[i % len(PATHS)], timeout, burst, start))
        for i in range(connections)
    ]
    await asyncio.sleep(0.05)
    began = time.monotonic()
    start.set()
    await asyncio.gather(*tasks)
    burst.seconds = time.monotonic() - began
    return burst


def measure(snapshots: Path, limit: int, connections: int, timeout: float, workers: int = 1) -> Burst:
    with server(snapshots, limit, workers) as port:
        asyncio.run(fire(port, 5, timeout, limit))  # warm: the snapshot is open and its caches built
        return asyncio.run(fire(port, connections, timeout, limit))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--snapshots", type=Path, help="a snapshots folder (default: build a small one)")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--limits", default="0,64", help="--max-concurrency values to compare (0: none)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a client waits for its answer")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bijia-burst-") as tmp:
        snapshots = args.snapshots
        if snapshots is None:
            subprocess.run(
                [
                    *(sys.executable, str(ROOT / "benchmarks" / "make_snapshot.py")),
                    *("--offers", "50000", "--products", "5000", "--out", tmp),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            snapshots = Path(tmp) / "snapshots"
        print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
        for limit in (int(x) for x in args.limits.split(",")):
            bursts = [
                measure(snapshots, limit, args.connections, args.timeout, args.workers)
                for _ in range(args.runs)
            ]
            for burst in bursts:
                print(burst.line())
            fails = statistics.median(sum(b.failures.values()) for b in bursts)
            refused = statistics.median(b.statuses[503] for b in bursts)
            seconds = statistics.median(b.seconds for b in bursts)
            print(
                f"limit {limit or 'none'}: median failures {fails}, median 503s {refused}, median {seconds:.2f}s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
