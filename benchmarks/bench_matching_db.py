"""Incremental ``bijia match`` on a database of demo offers: the first (full) match, then 1 % of the offers
change and the incremental match and a full regroup are timed end to end (each its own process)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from core.offer import Offer
from demo.records import listing_records
from matching.records import OfferRecord
from storage import connect
from storage.offers import commit_run, stage_offers, start_run

BIJIA = str(Path(sys.executable).with_name("bijia"))
BATCH = 50_000


def _offer(r: OfferRecord) -> Offer:
    return Offer(
        marketplace=r.marketplace,
        listing_id=r.key.split("/", 1)[1],
        url=f"http://127.0.0.1/{r.key}",
        title=r.title,
        price=Decimal(str(r.price or 1)),
        currency="CNY",
        brand=r.brand,
        gtin=r.gtin,
        mpn=r.mpn,
        shipping=Decimal(0),
    )


def crawl_into(db: Path, run_id: str, records: list[OfferRecord]) -> None:
    """Stage and commit ``records`` as one crawl run."""
    markets = sorted({r.marketplace for r in records})
    con = connect(db)
    try:
        start_run(con, run_id, "crawl", markets)
        for start in range(0, len(records), BATCH):
            stage_offers(con, run_id, [_offer(r) for r in records[start : start + BATCH]])
        commit_run(con, run_id, markets, "finished", {})
    finally:
        con.close()


def change(db: Path, keys: list[str], rng: random.Random, new: list[OfferRecord]) -> int:
    """1 % churn: half of ``keys`` retitled, a fifth gone (0.5 % / 0.2 %), ``new`` listed. Returns how many."""
    retitled = keys[: len(keys) // 2]
    gone = keys[len(keys) // 2 : len(keys) // 2 + len(keys) // 5]
    suffixes = [rng.choice([" 热卖", " Hot Sale", " 2024新款"]) for _ in retitled]
    con = connect(db)
    try:  # set-wise: one UPDATE per key takes minutes at a million offers
        con.execute(
            "UPDATE offers o SET title = o.title || c.suffix FROM (SELECT unnest(?::VARCHAR[]) AS key, "
            "unnest(?::VARCHAR[]) AS suffix) c WHERE o.marketplace || '/' || o.listing_id = c.key",
            [retitled, suffixes],
        )
        con.execute(
            "UPDATE offers SET gone = true WHERE marketplace || '/' || listing_id IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [gone],
        )
    finally:
        con.close()
    crawl_into(db, "crawl-2", new)
    return len(retitled) + len(gone) + len(new)


def _bijia(command: str, db: Path, *args: str) -> float:
    """Seconds ``bijia COMMAND --db DB ARGS`` takes, end to end (its own process)."""
    started = time.perf_counter()
    subprocess.run([BIJIA, command, "--db", str(db), *args], check=True, stdout=subprocess.DEVNULL)
    return round(time.perf_counter() - started, 1)


def _groups(db: Path) -> set[frozenset[str]]:
    con = connect(db, read_only=True)
    try:
        rows = con.execute(
            "SELECT marketplace || '/' || listing_id, product_id FROM product_offers"
        ).fetchall()
    finally:
        con.close()
    by_product: dict[str, set[str]] = {}
    for key, pid in rows:
        by_product.setdefault(pid, set()).add(key)
    return {frozenset(m) for m in by_product.values()}


def incremental_run(size: int, seed: int, workers: int, full: bool = True) -> dict:
    """The incremental run's figures (``full``: also the full regroup it is compared with; else its time,
    the group count and the groups-differ count are ``None``)."""
    records, _ = listing_records(size, seed)
    rng = random.Random(seed)
    rng.shuffle(records)
    held = len(records) * 3 // 1000
    first, new = records[held:], records[:held]
    with tempfile.TemporaryDirectory(prefix="bijia-bench-inc-") as tmp:
        db, full_db = Path(tmp) / "bijia.duckdb", Path(tmp) / "full.duckdb"
        started = time.perf_counter()
        crawl_into(db, "crawl-1", first)
        build_s = round(time.perf_counter() - started, 1)
        first_s = _bijia("match", db, "--workers", str(workers))
        keys = [r.key for r in rng.sample(first, len(first) * 7 // 1000)]
        changed = change(db, keys, rng, new)
        if full:
            shutil.copy(db, full_db)
        incremental_s = _bijia("match", db, "--workers", str(workers))
        load = os.getloadavg()[0]
        full_s = _bijia("match", full_db, "--full", "--workers", str(workers)) if full else None
        incremental = _groups(db)
        regrouped = _groups(full_db) if full else None
        publish_s = _bijia("publish", db, "--snapshots", str(Path(tmp) / "snapshots"))
    return {
        "offers": len(records) - len(keys) // 5,
        "changed": changed,
        "build_s": build_s,
        "first_s": first_s,
        "incremental_s": incremental_s,
        "full_s": full_s,
        "publish_s": publish_s,
        "groups": len(regrouped) if regrouped is not None else None,
        "groups_differ": len(incremental ^ regrouped) if regrouped is not None else None,
        "workers": workers,
        "load": round(load, 1),
    }
