"""Storage: offers/s written by ``storage.offers.stage_offers`` (in the pipeline's batches) + ``commit_run``.

    .venv/bin/python -m benchmarks.bench_storage --sizes 10000,100000 --repeats 3

Each repeat writes into a fresh DuckDB file: a first run (every offer new: inserts) and a second run of the
same listings with new prices (upserts into ``offers``, appends to ``prices``), as a daily crawl does.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Table, median, spread

SHOPS = ("techmall", "shopline", "woomart", "jingxuan", "shandian")


def make_offers(n: int, run: int):
    from core.offer import Offer

    now = datetime.now(UTC)
    out = []
    for i in range(n):
        shop = SHOPS[i % len(SHOPS)]
        price = Decimal(100 + (i * 37 + run * 11) % 9000) + Decimal("0.99")
        out.append(
            Offer(
                marketplace=shop,
                listing_id=f"L{i:08d}",
                url=f"http://127.0.0.1/{shop}/{i}",
                title=f"Brand{i % 97} Model {i % 1013} {64 << (i % 4)}GB 黑色 官方旗舰店",
                brand=f"Brand{i % 97}",
                gtin=f"69{i:011d}",
                price=price,
                price_raw=f"¥{price}",
                final_price=price - 1,
                shipping=Decimal(i % 3 * 5),
                currency="CNY",
                in_stock=i % 7 != 0,
                seller=f"{shop} store",
                delivery_hours=24.0,
                attributes={"colour": "black"},
                observed_at=now,
            )
        )
    return out


def write_run(con, run_id: str, offers, batch: int) -> tuple[float, float]:
    """(seconds staging, seconds committing)."""
    from storage.offers import commit_run, stage_offers, start_run

    start_run(con, run_id, "crawl", list(SHOPS))
    t0 = time.perf_counter()
    for i in range(0, len(offers), batch):
        stage_offers(con, run_id, offers[i : i + batch])
    t1 = time.perf_counter()
    commit_run(con, run_id, list(SHOPS), "finished", {})
    return t1 - t0, time.perf_counter() - t1


def measure(size: int, repeats: int, batch: int = 500) -> list[dict]:
    from storage import connect

    first, second = make_offers(size, 1), make_offers(size, 2)
    results = []
    for n in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bijia-bench-storage-") as tmp:
            con = connect(Path(tmp) / "b.duckdb")
            try:
                s1, c1 = write_run(con, f"r{n}a", first, batch)
                s2, c2 = write_run(con, f"r{n}b", second, batch)
                (rows,) = con.execute("SELECT count(*) FROM prices").fetchone()
                assert rows == 2 * size, rows
            finally:
                con.close()
        results.append(
            {"size": size, "stage_new": s1, "commit_new": c1, "stage_update": s2, "commit_update": c2}
        )
    return results


def add_figures(table: Table, size: int, results: list[dict], command: str) -> None:
    for label, stage, commit in (
        ("new", "stage_new", "commit_new"),
        ("update", "stage_update", "commit_update"),
    ):
        rates = [size / (r[stage] + r[commit]) for r in results]
        stage_rates = [size / r[stage] for r in results]
        commit_s = [r[commit] for r in results]
        table.add(
            "storage (5)",
            f"{size:,} offers, {label}: stage+commit",
            f"{median(rates):,.0f}",
            "offers/s",
            f"stage {median(stage_rates):,.0f}/s, commit {median(commit_s):.2f}s; range {spread(rates)}",
            command=command,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=500, help="offers per stage_offers call (BIJIA_BATCH_SIZE)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    table = Table()
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        results = measure(size, args.repeats, args.batch)
        if args.json:
            print(json.dumps(results))
        add_figures(
            table,
            size,
            results,
            f"python -m benchmarks.bench_storage --sizes {size} --repeats {args.repeats}",
        )
    if not args.json:
        print(table.render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
