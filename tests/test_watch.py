"""Watchlists: ``bijia watch add/list/remove``, and the alerts a watch owes — once when its condition
becomes true, not while it holds, again only after it was clearly over; none from a failed crawl; the
Atom feed; ``bijia alerts --kind --product --since``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli import app
from crawler.config import AlertsOptions
from service.alerts import feed_path, run_alerts
from storage import connect
from storage.alerts import recent_alerts
from storage.offers import commit_run, stage_offers, start_run
from storage.products import SavedGroup, save_products
from storage.snapshots import publish as publish_snapshot
from storage.watchlist import add_watch
from tests.conftest import make_offer

runner = CliRunner()
T0 = datetime(2026, 10, 1, 8, tzinfo=UTC)


class Shop:
    """Publishes runs of two marketplaces selling product P1 (and a cable P2) and computes their alerts."""

    def __init__(self, path, tmp_path):
        self.path = path
        self.con = connect(path)
        self.jsonl = tmp_path / "alerts.jsonl"
        self.feed = feed_path(tmp_path / "snaps")
        self.n = 0

    def run(self, a: str | None, b: str | None, *, ok=("a", "b"), stock_a=True, day=0, options=None):
        """One run: a's and b's prices for P1 (``None``: not listed this run); only ``ok`` are published."""
        self.n += 1
        run_id = f"r{self.n}"
        when = T0 + timedelta(days=day, hours=self.n)
        offers = [make_offer("a", "2", "Cable", "20", in_stock=True, observed_at=when)]
        if a is not None:
            offers.append(make_offer("a", "1", "Phone", a, in_stock=stock_a, observed_at=when))
        if b is not None:
            offers.append(make_offer("b", "1", "Phone", b, in_stock=True, observed_at=when))
        start_run(self.con, run_id, "run", ["a", "b"])
        stage_offers(self.con, run_id, offers)
        commit_run(self.con, run_id, list(ok), "finished", {})
        if self.n == 1:
            save_products(
                self.con,
                "m",
                [SavedGroup("P1", ["a/1", "b/1"], 1.0, {}), SavedGroup("P2", ["a/2"], 1.0, {})],
                {"P1": ("Phone", None, None), "P2": ("Cable", None, None)},
            )
        report = run_alerts(self.con, run_id, options or AlertsOptions(), self.jsonl, self.feed)
        return [(a["kind"], a.get("price")) for a in recent_alerts(self.con, run_id=run_id)], report

    def cli(self, *args: str):
        """Run a command with this test's connection closed (a read-only one cannot open beside it)."""
        self.con.close()
        try:
            return runner.invoke(app, [*args, "--db", str(self.path)])
        finally:
            self.con = connect(self.path)


@pytest.fixture
def shop(db_path, tmp_path):
    s = Shop(db_path, tmp_path)
    yield s
    s.con.close()


def test_below_target_alerts_once_then_rearms_after_clearly_above(shop):
    add_watch(shop.con, "P1", below=Decimal("5999"))
    assert shop.run("6100", "6200")[0] == []
    assert shop.run("5990", "6200")[0] == [("below_target", "5990.00")]
    assert shop.run("5950", "6200")[0] == []  # still below: no repeat
    assert shop.run("6050", "6200")[0] == []  # above, but within 2 %: drift, not re-armed
    assert shop.run("5980", "6200")[0] == []
    assert shop.run("6200", "6300")[0] == []  # clearly above: re-armed
    alerts, report = shop.run("6200", "5900")
    assert alerts == [("below_target", "5900.00")] and report.new == 1
    (alert,) = recent_alerts(shop.con, run_id="r7")
    assert (alert["marketplace"], alert["listing_id"], alert["target"], alert["title"]) == (
        "b",
        "1",
        "5999.00",
        "Phone",
    )


def test_a_failed_crawl_alerts_nothing(shop):
    add_watch(shop.con, "P1", below=Decimal("5999"))
    shop.run("6100", "6200")
    # b's crawl failed: its staged 5,000 is not published, so nothing crossed the target
    assert shop.run("6100", "5000", ok=("a",))[0] == []
    assert shop.run("6100", "5000")[0] == [("below_target", "5000.00")]


def test_restocked_alerts_when_the_product_can_be_bought_again(shop):
    add_watch(shop.con, "P1", back_in_stock=True)
    assert shop.run("100", None)[0] == []  # a new watch learns the state silently
    assert shop.run("100", None, stock_a=False)[0] == []
    assert shop.run("100", None, stock_a=False)[0] == []
    assert shop.run("105", None)[0] == [("restocked", "105.00")]
    assert shop.run("105", None)[0] == []


def test_real_drop_is_measured_against_the_30_day_low(shop):
    add_watch(shop.con, "P1", drop_percent=10)
    for day in range(5):
        assert shop.run("100", "120", day=day)[0] == []
    assert shop.run("95", "120", day=6)[0] == []  # 5 % below: not enough
    alerts, _ = shop.run("85", "120", day=7)
    assert alerts == [("real_drop", "85.00")]
    (alert,) = recent_alerts(shop.con, kinds=["real_drop"])
    assert (alert["reference"], alert["below_reference_percent"]) == ("95.00", "10.5")
    assert shop.run("85", "120", day=8)[0] == []


def test_the_same_run_computed_twice_alerts_once_and_the_feed_lists_it(shop):
    add_watch(shop.con, "P1", below=Decimal("6000"), label="for mum")
    shop.run("5900", "6200")
    again = run_alerts(shop.con, "r1", AlertsOptions(), shop.jsonl, shop.feed)
    assert again.new == 0 and len(shop.jsonl.read_text().splitlines()) == 1
    root = ET.fromstring(shop.feed.read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    (entry,) = root.findall("a:entry", ns)
    assert entry.find("a:id", ns).text == "urn:bijia:alert:r1:below_target:watch1"
    assert entry.find("a:title", ns).text == "到价 Phone: now ¥5,900.00 at a (target ¥6,000.00)"
    assert entry.find("a:category", ns).get("term") == "below_target"


def test_serve_serves_the_feed_with_an_etag(shop, db_path):
    add_watch(shop.con, "P1", below=Decimal("6000"))
    shop.run("5900", "6200")
    shop.con.close()
    snaps = shop.feed.parent
    publish_snapshot(db_path, snaps)
    shop.con = connect(db_path)
    with TestClient(create_app(snaps, check_interval=0)) as client:
        feed = client.get("/alerts.atom")
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
        assert "到价 Phone" in feed.text
        assert client.get("/alerts.atom", headers={"If-None-Match": feed.headers["etag"]}).status_code == 304
        shop.feed.unlink()
        assert client.get("/alerts.atom").status_code == 404


def test_cli_watch_add_list_remove_and_alert_filters(shop):
    shop.run("6100", "6200")
    added = shop.cli("watch", "add", "P1", "--below", "5999", "--drop", "10%")
    assert added.exit_code == 0 and "watch 1: P1" in added.output
    shop.cli("watch", "add", "P2", "--back-in-stock")
    listed = json.loads(shop.cli("watch", "list", "-f", "json").stdout)
    assert [(w["watch_id"], w["product_id"], w["below"], w["drop_percent"]) for w in listed] == [
        (1, "P1", "5999.00", 10.0),
        (2, "P2", None, None),
    ]
    shop.run("5900", "6200")
    rows = json.loads(shop.cli("alerts", "-f", "json", "--kind", "below_target").stdout)
    assert [r["kind"] for r in rows] == ["below_target"]
    assert json.loads(shop.cli("alerts", "-f", "json", "--product", "P2").stdout) == []
    future = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert json.loads(shop.cli("alerts", "-f", "json", "--since", future).stdout) == []
    assert len(json.loads(shop.cli("alerts", "-f", "json", "--since", "1h").stdout)) == 1
    table = shop.cli("watch", "list")
    assert "below_target" in table.stdout  # the condition that holds now
    assert shop.cli("watch", "remove", "1").exit_code == 0
    gone = shop.cli("watch", "remove", "1")
    assert gone.exit_code == 1 and "no watch 1" in gone.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["watch", "add", "P9", "--below", "10"], "no product 'P9'"),
        (["watch", "add", "P1"], "say what to watch for"),
        (["watch", "add", "P1", "--below", "cheap"], "--below 'cheap'"),
        (["watch", "add", "P1", "--drop", "120%"], "between 0 and 100"),
        (["alerts", "--kind", "bargain"], "--kind bargain: use below_target"),
        (["alerts", "--since", "yesterday"], "--since 'yesterday'"),
    ],
)
def test_watch_and_alerts_errors_are_one_line(shop, args, message):
    shop.run("6100", "6200")
    result = shop.cli(*args)
    assert result.exit_code in (1, 2) and message in result.output and "Traceback" not in result.output
