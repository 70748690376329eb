"""Harness (no tests here) for the fault and crash tests: a demo server with faults, `bijia crawl` as a
subprocess, and exact comparisons of what was stored against the catalogue's truth.

Scrapy's event loop runs once per process, so every crawl is its own ``bijia`` process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
BIJIA = [sys.executable, "-c", "from cli import app; app()"]
PLAIN_SHOPS = ("techmall", "shopline", "woomart", "shandian")


@dataclass
class Crawl:
    code: int
    stderr: str
    run: dict
    """The run's row from ``bijia runs --format json``."""

    def status(self, shop: str) -> str:
        return self.run["stats"]["marketplaces"][shop]["status"]

    def market(self, shop: str) -> dict:
        return self.run["stats"]["marketplaces"][shop]


def bijia_env(base_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"BIJIA_DEMO_URL": base_url, "BIJIA_DOWNLOAD_TIMEOUT": "5", **extra})
    env.pop("BIJIA_DB", None)
    env.pop("BIJIA_MARKETPLACES", None)
    return env


def crawl(
    base_url: str,
    db: Path,
    shops: tuple[str, ...] = PLAIN_SHOPS,
    *,
    timeout: float = 120,
    extra_args: tuple[str, ...] = (),
    **env: str,
) -> Crawl:
    """``bijia crawl -m … --db db`` in a subprocess, then the newest run from ``bijia runs --format json``."""
    args = [*BIJIA, "crawl", *[a for s in shops for a in ("-m", s)], "--db", str(db), *extra_args]
    done = subprocess.run(
        args, cwd=ROOT, env=bijia_env(base_url, **env), capture_output=True, text=True, timeout=timeout
    )
    run = newest_run(db)
    if run["status"] != "finished":  # then the CLI says so: one line per shop and the run's outcome
        assert f"run {run['run_id']}: {run['status']}" in done.stderr, done.stderr[-3000:]
    return Crawl(done.returncode, done.stderr, run)


def newest_run(db: Path) -> dict:
    from cli import app

    result = CliRunner().invoke(app, ["runs", "--db", str(db), "--format", "json", "--limit", "1"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)[0]


def truth(server) -> dict[str, dict[str, tuple[Decimal, bool]]]:
    """shop → listing id → (landed price, in stock), as the server serves it (absurd listings left out)."""
    out: dict[str, dict[str, tuple[Decimal, bool]]] = {}
    for row in server.truth_rows():
        out.setdefault(row.marketplace, {})[row.listing_id] = (row.landed_price, row.in_stock)
    return out


@dataclass
class Stored:
    offers: dict[str, dict[str, tuple[Decimal, bool]]]
    """shop → listing id → (landed price, in stock) in ``offers``."""
    prices: Counter
    """(shop, listing id, run id) → rows in ``prices`` (history): must be 1 each."""
    offer_rows: int
    staging_rows: int


def stored(db: Path) -> Stored:
    from storage import connect

    con = connect(db, read_only=True)
    try:
        rows = con.execute(
            "SELECT marketplace, listing_id, coalesce(final_price, price) + coalesce(shipping, 0), "
            "coalesce(in_stock, true) FROM offers"
        ).fetchall()
        prices = con.execute(
            "SELECT marketplace, listing_id, run_id, count(*) FROM prices GROUP BY ALL"
        ).fetchall()
        (staging,) = con.execute("SELECT count(*) FROM staging_offers").fetchone()
    finally:
        con.close()
    offers: dict[str, dict[str, tuple[Decimal, bool]]] = {}
    for shop, listing, landed, in_stock in rows:
        offers.setdefault(shop, {})[listing] = (landed, in_stock)
    return Stored(offers, Counter({(m, li, r): n for m, li, r, n in prices}), len(rows), staging)


def assert_exact(db: Path, expected: dict[str, dict[str, tuple[Decimal, bool]]], shops) -> Stored:
    """Each of ``shops`` stored exactly its true listings with the right landed price and stock; the
    history holds at most one row per listing and run; staging is empty."""
    got = stored(db)
    for shop in shops:
        have, want = got.offers.get(shop, {}), expected.get(shop, {})
        assert want, f"the truth has no listings for {shop}"
        missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        assert not missing and not extra, f"{shop}: missing {missing[:5]}, unexpected {extra[:5]}"
        wrong = {k: (have[k], want[k]) for k in want if have[k] != want[k]}
        assert not wrong, f"{shop}: wrong landed price/stock {list(wrong.items())[:3]}"
    twice = {k: n for k, n in got.prices.items() if n != 1}
    assert not twice, f"stored twice in the price history: {list(twice.items())[:5]}"
    assert got.staging_rows == 0
    return got
