"""20 runs of ``bijia run`` (subprocesses, as cron starts them) against demo shops whose prices and stock
drift a little at every run: no alert is ever sent twice to a channel, and a watch alerts again only after
its condition stopped holding."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from demo.catalogue import Catalogue, generate_catalogue
from demo.listings import Listing, money
from demo.rand import Draw
from demo.server import DemoServer
from storage import connect
from storage.watchlist import add_watch
from tests.test_alert_channels import Receiver

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
RUNS = 20


class Drifting(Catalogue):
    """The demo catalogue whose prices move by up to ±4 % and whose stock flips now and then, per epoch."""

    epoch = 0

    def listing(self, shop, index, store=None) -> Listing:
        x = super().listing(shop, index, store)
        d = Draw(self.seed, 77, self.epoch, index, store.id if store else 0)
        factor = 1 + d.uniform(-0.04, 0.04)
        stock = 0 if d.chance(0.1) else x.stock or d.randint(1, 9)
        return dataclasses.replace(
            x,
            price=money(float(x.price) * 100 * factor),
            final_price=None if x.final_price is None else money(float(x.final_price) * 100 * factor),
            in_stock=stock > 0,
            stock=stock,
        )


def drifting(size: int) -> Drifting:
    base = generate_catalogue(size, 7)
    return Drifting(base.size, base.seed, base.products)


def bijia(server: DemoServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "bijia"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "BIJIA_DEMO_URL": server.base_url},
    )


def test_no_alert_is_sent_twice_across_20_runs_with_price_drift(tmp_path):
    db = tmp_path / "b.duckdb"
    hook, firehose = Receiver(), Receiver()
    config = tmp_path / "m.toml"
    config.write_text(
        (ROOT / "demo" / "marketplaces.toml").read_text(encoding="utf-8")
        + f"""
[alerts]
firehose = true
drop_percent = 2
rise_percent = 2

[[alerts.channel]]
type = "webhook"
name = "watched"
url = "{hook.base}/watched"

[[alerts.channel]]
type = "webhook"
name = "all"
url = "{firehose.base}/all"
firehose = true
""",
        encoding="utf-8",
    )
    args = ["--db", str(db), "-c", str(config), "-m", "shopline", "-m", "shandian"]
    catalogue = drifting(10)
    try:
        with DemoServer(catalogue) as server:
            assert bijia(server, "run", *args).returncode == 0
            watch_products(db)
            for epoch in range(1, RUNS):
                catalogue.epoch = epoch
                result = bijia(server, "run", *args)
                assert result.returncode == 0, result.stderr[-2000:]
    finally:
        hook.close()
        firehose.close()
    watched = [a for post in hook.posts for a in post["json"]["alerts"]]
    everything = [a for post in firehose.posts for a in post["json"]["alerts"]]
    assert len(hook.posts) >= 3 and len(everything) > len(watched) > 0  # the drift did alert
    for delivered in (watched, everything):
        counts = Counter(a["alert_id"] for a in delivered)
        assert [k for k, n in counts.items() if n > 1] == []
    assert {a["kind"] for a in watched} <= {"below_target", "real_drop", "restocked"}
    # a watch never alerts in two runs in a row: it must stop holding (and be re-armed) first
    runs = sorted({a["run_id"] for a in everything})
    seen = {(a["watch_id"], a["kind"], runs.index(a["run_id"])) for a in watched}
    assert not any((w, k, n + 1) in seen for w, k, n in seen)
    stored = json.loads(bijia_alerts(db))
    assert {a["alert_id"] for a in stored if a["kind"] in ("below_target", "restocked")} <= {
        a["alert_id"] for a in watched
    }


def watch_products(db: Path) -> None:
    """Watch every product just under its lowest price now (drift crosses it) and for restocks."""
    con = connect(db)
    try:
        rows = con.execute(
            "SELECT product_id, landed_price FROM product_lowest ORDER BY product_id"
        ).fetchall()
        for pid, price in rows:
            add_watch(
                con, pid, below=(price * Decimal("0.985")).quantize(Decimal("0.01")), back_in_stock=True
            )
    finally:
        con.close()


def bijia_alerts(db: Path) -> str:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "bijia"), "alerts", "--db", str(db), "-f", "json", "--limit", "100000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
