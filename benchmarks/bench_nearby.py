"""What ``near=`` adds to the product endpoint: ranking one product page's offers for a place, measured in
process on pages of a published snapshot (``make_snapshot.py``), beside the page lookup itself.

    .venv/bin/python benchmarks/bench_nearby.py --dir /tmp/bijia-bench --pages 2000

End to end, ``bench_api.py --endpoints product,product+near`` compares the two endpoints over HTTP.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb

from api.shopper import with_nearby
from service.nearby import where
from storage import snapshot_queries
from storage.snapshots import current_snapshot


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bijia-bench"), help="make_snapshot.py --out")
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    snap = current_snapshot(args.dir / "snapshots")
    if snap is None:
        raise SystemExit(f"no snapshot in {args.dir}/snapshots (run make_snapshot.py)")
    con = duckdb.connect(str(snap.path), read_only=True, config={"threads": 1})
    ids = [
        r[0]
        for r in con.execute(f"SELECT product_id FROM api_products USING SAMPLE {args.pages} ROWS").fetchall()
    ]
    place = where("39.9042,116.4074", None, "best", None)
    lookup, ranking, ranking_cpu, offers = [], [], [], []
    for pid in ids:
        t = time.perf_counter()
        page = snapshot_queries.product_page(con, pid)
        lookup.append((time.perf_counter() - t) * 1000)
        assert page is not None
        t, cpu = time.perf_counter(), time.thread_time()
        ranked = with_nearby(page, place)
        ranking.append((time.perf_counter() - t) * 1000)
        ranking_cpu.append((time.thread_time() - cpu) * 1000)
        offers.append(ranked.count('"listing_id"'))
    print(
        f"{snap.id}: {len(ids)} product pages, {statistics.mean(offers) / 2:.1f} offers each (mean), load {os.getloadavg()[0]:.2f}"
    )
    for name, values in (("page lookup", lookup), ("near= ranking", ranking), ("ranking CPU", ranking_cpu)):
        print(
            f"  {name:14} p50 {statistics.median(values):.3f} ms, p99 {percentile(values, 0.99):.3f} ms, max {max(values):.3f} ms"
        )


if __name__ == "__main__":
    main()
