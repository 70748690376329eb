"""Load-test the storefront API on a published snapshot: p50/p99 and requests/s per endpoint, then a swap.

    .venv/bin/python benchmarks/make_snapshot.py --offers 5000000 --products 500000 --out /tmp/bijia-bench
    .venv/bin/python benchmarks/bench_api.py --dir /tmp/bijia-bench --workers 2 --runs 3

Starts ``bijia serve``'s server (``api.server.serve``) in a subprocess on 127.0.0.1, drives it with 8 concurrent
connections (``wrk`` when installed — ``apt-get install wrk`` — else threads with httpx), and reports the
median of ``--runs`` runs. The swap phase runs ``publish()`` of ``<dir>/working.duckdb`` while the load
runs, and counts failed requests (non-2xx/3xx or socket errors) — it must be 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb
import httpx

from storage.snapshots import current_snapshot, list_snapshots, publish

ROOT = Path(__file__).resolve().parents[1]
SEARCH_WORDS = [
    "apple",
    "huawei 手机",
    "小米",
    "sony headphones",
    "索尼 耳机",
    "空调",
    "lenovo laptop 512gb",
    "戴森 吸尘器",
    "nike running",
    "黑色 256g",
    "samsung monitor",
    "充电宝",
    "canon camera",
    "罗技 键盘",
    "white",
    "智能手表",
    "bose speaker",
    "美的 冰箱",
    "ipad",
    "gree",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    snapshots: Path, workers: int, threads: int | None, extra_path: str | None = None
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (extra_path, str(ROOT)) if p)}
    if threads is not None:
        env["BIJIA_API_DUCKDB_THREADS"] = str(threads)
    code = f"import api.server; api.server.serve({str(snapshots)!r}, '127.0.0.1', {port}, {workers}, log_level='warning')"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/v1/health", timeout=5).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not come up")


def sample_paths(snapshots: Path, n: int) -> dict[str, list[str]]:
    snap = current_snapshot(snapshots)
    con = duckdb.connect(str(snap.path), read_only=True)
    try:
        ids = [
            r[0]
            for r in con.execute(f"SELECT product_id FROM api_products USING SAMPLE {int(n)} ROWS").fetchall()
        ]
        offers = con.execute(
            "SELECT marketplace, listing_id FROM api_offers USING SAMPLE 2000 ROWS"
        ).fetchall()
    finally:
        con.close()
    rnd = random.Random(7)
    return {
        "product": [f"/api/v1/products/{pid}" for pid in ids],
        "product+near": [f"/api/v1/products/{pid}?near=39.9042,116.4074" for pid in ids],
        "search": [f"/api/v1/products?q={quote(rnd.choice(SEARCH_WORDS))}&limit=20" for _ in range(500)],
        "search+brand": [f"/api/v1/products?q={quote(w)}&brand=Apple" for w in ("black", "256gb", "白色")]
        * 50,
        "compare": ["/api/v1/compare?ids=" + ",".join(rnd.sample(ids, 5)) for _ in range(500)],
        "history": [f"/api/v1/products/{pid}/history" for pid in ids[:2000]],
        "offer-history": [
            f"/api/v1/offers/history?marketplace={m}&listing_id={quote(lid)}" for m, lid in offers
        ],
    }


def run_wrk(base: str, paths: list[str], seconds: float, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(
            "paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
            "n = 0\nrequest = function()\n  n = n + 1\n"
            "  return wrk.format('GET', paths[(n % #paths) + 1])\nend\n"
        )
        script = fh.name
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "-s", script, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script)

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "requests": requests,
        "errors": errors,
    }


def run_threads(base: str, paths: list[str], seconds: float, connections: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        mine, bad, i = [], 0, k
        with httpx.Client(base_url=base, timeout=30) as c:
            while time.monotonic() < stop:
                t = time.perf_counter()
                try:
                    ok = c.get(paths[i % len(paths)]).status_code < 400
                except httpx.HTTPError:
                    ok = False
                mine.append(time.perf_counter() - t)
                bad += not ok
                i += connections
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, args=(k,)) for k in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed,
        "p50": q[49] * 1000,
        "p99": q[98] * 1000,
        "requests": len(latencies),
        "errors": errors[0],
    }


def _http_impl(extra_path: str | None) -> str:
    code = "import importlib.util as u; print('httptools+uvloop' if u.find_spec('httptools') else 'h11')"
    env = {**os.environ, "PYTHONPATH": extra_path or ""}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    ).stdout.strip()


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the server and its worker processes so far (Linux ``/proc``)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid or int(stat.parent.name) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measured(drive, pid: int, *args) -> dict:
    """One ``drive`` run, with the server's CPU milliseconds per request: a figure the machine's other load
    disturbs far less than latency."""
    before = server_cpu(pid)
    res = drive(*args)
    return res | {"cpu_ms": (server_cpu(pid) - before) * 1000 / max(res["requests"], 1)}


def median_of(results: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in results) for k in ("rps", "p50", "p99", "cpu_ms")} | {
        "errors": sum(r["errors"] for r in results),
        "requests": sum(r["requests"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bijia-bench"), help="make_snapshot.py --out")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--duckdb-threads",
        type=int,
        default=None,
        help="DuckDB threads per API connection (default: the API's, 1; 0: one per core)",
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--endpoints", default="product,search,search+brand,compare,history,offer-history")
    parser.add_argument("--no-swap", action="store_true")
    parser.add_argument("--swap", choices=["prebuilt", "publish"], default="prebuilt")
    parser.add_argument("--swaps", type=int, default=4, help="swaps during the load (prebuilt mode)")
    parser.add_argument(
        "--keep",
        type=int,
        default=2,
        choices=range(2, 100),
        metavar="N",
        help="snapshots kept by the publishes of the swap phase (at least 2: the swap needs both)",
    )
    parser.add_argument(
        "--pythonpath",
        help="prepended to the server's PYTHONPATH, e.g. a folder where "
        "`pip install --target` put httptools and uvloop",
    )
    args = parser.parse_args()
    snapshots = args.dir / "snapshots"
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    drive = run_wrk if use_wrk else run_threads
    paths = sample_paths(snapshots, 20_000)
    proc, base = start_server(snapshots, args.workers, args.duckdb_threads, args.pythonpath)
    print(
        f"server {base} workers={args.workers} http={_http_impl(args.pythonpath)} client={'wrk' if use_wrk else 'httpx threads'} "
        f"connections={args.connections} {args.seconds:.0f}s x {args.runs} runs",
        flush=True,
    )
    try:
        for name in args.endpoints.split(","):
            drive(base, paths[name], 2, args.connections)  # warm up
            res = median_of(
                [
                    measured(drive, proc.pid, base, paths[name], args.seconds, args.connections)
                    for _ in range(args.runs)
                ]
            )
            print(
                f"{name:14s} p50 {res['p50']:7.2f} ms  p99 {res['p99']:7.2f} ms  {res['rps']:8.0f} req/s  "
                f"errors {res['errors']} of {res['requests']}  server cpu {res['cpu_ms']:.3f} ms/req",
                flush=True,
            )
        if not args.no_swap:
            swap(base, snapshots, args, paths["product"], drive)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def swap(base: str, snapshots: Path, args: argparse.Namespace, paths: list[str], drive) -> None:
    """Swap snapshots while ``paths`` are under load; count failed requests.

    ``--swap prebuilt`` (default): publish the working DB once more first, then under load swap ``CURRENT``
    between that and the previous snapshot ``--swaps`` times (publish's last step, atomic replace).
    ``--swap publish``: run the whole ``publish()`` under load (the build competes for the 2 cores)."""
    before = httpx.get(base + "/api/v1/health").json()["snapshot"]["id"]
    box: dict = {"ids": []}
    names: list[str] = []
    if args.swap == "prebuilt":  # two published snapshots of the same data; swap between them under load
        other = publish(args.dir / "working.duckdb", snapshots, keep=args.keep)
        current = list_snapshots(snapshots)[-2]  # the newest older one, which publish's clean-up keeps
        names = [current.path.name, f"{other}.duckdb"] * args.swaps
        names = names[: args.swaps]
        print(f"published {other} to swap with {current.id}", flush=True)

    def swapper() -> None:
        started = time.perf_counter()
        if names:
            time.sleep(2)
            for name in names:  # the last step of publish(): replace CURRENT atomically
                tmp = snapshots / ".CURRENT.bench.tmp"
                tmp.write_text(name + "\n")
                os.replace(tmp, snapshots / "CURRENT")
                box["ids"].append(name.removesuffix(".duckdb"))
                time.sleep(max(1.0, args.seconds / (args.swaps + 1)))
        else:
            time.sleep(2)
            box["ids"].append(publish(args.dir / "working.duckdb", snapshots, keep=args.keep))
        box["seconds"] = time.perf_counter() - started

    t = threading.Thread(target=swapper)
    t.start()
    runs = []
    while t.is_alive() or not runs:
        runs.append(drive(base, paths, args.seconds, args.connections))
    t.join()
    after_run = drive(base, paths, 3, args.connections)
    after = httpx.get(base + "/api/v1/health").json()["snapshot"]["id"]
    errors = sum(r["errors"] for r in runs) + after_run["errors"]
    print(
        f"swap ({args.swap}): {len(box['ids'])} swaps in {box['seconds']:.1f} s under load; "
        f"{sum(r['requests'] for r in runs) + after_run['requests']} requests, {errors} errors; "
        f"p99 during {max(r['p99'] for r in runs):.2f} ms, after {after_run['p99']:.2f} ms, "
        f"{min(r['rps'] for r in runs):.0f} req/s; served {before} -> {after}",
        flush=True,
    )
    if errors or after != box["ids"][-1]:
        raise SystemExit("swap under load failed")


if __name__ == "__main__":
    main()
