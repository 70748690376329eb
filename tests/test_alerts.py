"""The firehose (``[alerts] firehose = true``) against seeded price changes: drops/rises past the
thresholds, stock changes, a new lowest marketplace; none when a marketplace's crawl failed, none at all
without the opt-in; stored once; JSON lines; the legacy webhook POST."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from crawler.config import AlertsOptions
from service.alerts import run_alerts
from storage import connect
from storage.alerts import pending_for, recent_alerts
from storage.offers import commit_run, stage_offers, start_run
from storage.products import SavedGroup, save_products

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def undelivered(con):
    """What the legacy webhook still has to send."""
    return pending_for(con, "webhook_url", since=datetime(1970, 1, 1, tzinfo=UTC), firehose=True)


def publish(con, run_id, offers, ok):
    start_run(con, run_id, "run", ok)
    stage_offers(con, run_id, offers)
    commit_run(con, run_id, ok, "finished", {})


def group(con):
    save_products(
        con,
        "m",
        [SavedGroup("P1", ["a/1", "b/1"], 1.0, {}), SavedGroup("P2", ["a/2", "b/2"], 1.0, {})],
        {"P1": ("Phone", None, None), "P2": ("Case", None, None)},
    )


class Receiver:
    """A local webhook endpoint recording POSTed JSON bodies; answers ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.bodies: list[dict] = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def seeded(db_path, offer_factory):
    """Run r1, then r2 with a rise, a drop that moves P1's lowest to b, a small change, stock changes."""
    o = offer_factory
    con = connect(db_path)
    publish(
        con,
        "r1",
        [
            o("a", "1", "Phone", "100", in_stock=True, observed_at=T0),
            o("b", "1", "Phone", "110", in_stock=True, observed_at=T0),
            o("a", "2", "Case", "50", in_stock=True, observed_at=T0),
            o("b", "2", "Case", "20", in_stock=False, observed_at=T0),
            o("a", "3", "Cable", "10", in_stock=True, observed_at=T0),
        ],
        ["a", "b"],
    )
    group(con)
    t1 = T0 + timedelta(hours=1)
    yield (
        con,
        [
            o("a", "1", "Phone", "120", in_stock=True, observed_at=t1),  # +20 %: rise
            o("b", "1", "Phone", "104", in_stock=True, observed_at=t1),  # -5.45 %: drop, now lowest
            o("a", "2", "Case", "50", in_stock=False, observed_at=t1),  # out of stock
            o("b", "2", "Case", "20", in_stock=True, observed_at=t1),  # back in stock
            o("a", "3", "Cable", "10.20", in_stock=True, observed_at=t1),
        ],
    )  # +2 %: below threshold
    con.close()


def test_seeded_changes_give_exactly_the_expected_alerts(seeded, receiver, tmp_path):
    con, second = seeded
    options = AlertsOptions(webhook_url=receiver.url, drop_percent=5, rise_percent=5, firehose=True)
    jsonl = tmp_path / "alerts.jsonl"
    first = run_alerts(con, "r1", options, jsonl)
    assert first.new == 0 and not jsonl.exists()  # first sightings are not changes
    publish(con, "r2", second, ["a", "b"])
    report = run_alerts(con, "r2", options, jsonl)
    got = {
        (a["kind"], a["marketplace"], a["listing_id"] if a["kind"] != "new_lowest" else a["product_id"])
        for a in map(json.loads, jsonl.read_text().splitlines())
    }
    assert got == {
        ("price_rise", "a", "1"),
        ("price_drop", "b", "1"),
        ("out_of_stock", "a", "2"),
        ("back_in_stock", "b", "2"),
        ("new_lowest", "b", "P1"),
        ("new_lowest", "b", "P2"),
    }
    assert report.new == 6 and report.webhook == "sent" and report.delivered == 6
    drop = next(a for a in recent_alerts(con) if a["kind"] == "price_drop")
    assert (drop["previous_price"], drop["price"], drop["change_percent"]) == ("110.00", "104.00", -5.45)
    lowest = next(a for a in recent_alerts(con) if a["alert_id"] == "r2:new_lowest:P1")
    assert (lowest["previous_marketplace"], lowest["marketplace"]) == ("a", "b")
    # the webhook got one POST with the same six alerts, all marked delivered
    assert len(receiver.bodies) == 1 and receiver.bodies[0]["run_id"] == "r2"
    assert sorted(a["alert_id"] for a in receiver.bodies[0]["alerts"]) == sorted(
        a["alert_id"] for a in recent_alerts(con, run_id="r2")
    )
    assert undelivered(con) == []
    # computing the run's alerts again stores, writes and sends nothing new
    again = run_alerts(con, "r2", options, jsonl)
    assert again.new == 0 and len(jsonl.read_text().splitlines()) == 6 and len(receiver.bodies) == 1


def test_a_failed_marketplace_is_unknown_not_a_change(seeded, tmp_path, offer_factory):
    con, second = seeded
    options = AlertsOptions(firehose=True)
    run_alerts(con, "r1", options, tmp_path / "a.jsonl")
    # r2: b's crawl failed: its offers were staged partly but it is not published; a is unchanged
    start_run(con, "r2", "run", ["a", "b"])
    stage_offers(
        con,
        "r2",
        [o for o in second if o.marketplace == "b"]
        + [
            offer_factory("a", "1", "Phone", "100", in_stock=True),
            offer_factory("a", "2", "Case", "50", in_stock=True),
        ],
    )
    commit_run(con, "r2", ["a"], "partial", {})
    report = run_alerts(con, "r2", options, tmp_path / "a.jsonl")
    assert report.new == 0 and recent_alerts(con) == []
    # b's last published prices still stand: P1 is still cheapest at a
    assert con.execute("SELECT marketplace FROM product_lowest WHERE product_id = 'P1'").fetchone() == ("a",)


def test_thresholds_come_from_the_options(seeded, tmp_path):
    con, second = seeded
    publish(con, "r2", second, ["a", "b"])
    report = run_alerts(
        con, "r2", AlertsOptions(drop_percent=10, rise_percent=1, firehose=True), tmp_path / "a.jsonl"
    )
    kinds = {(a["kind"], a["marketplace"], a["listing_id"]) for a in recent_alerts(con)}
    assert ("price_drop", "b", "1") not in kinds  # -5.45 % < 10 %
    assert {("price_rise", "a", "1"), ("price_rise", "a", "3")} <= kinds  # +2 % ≥ 1 %
    assert report.kinds["price_rise"] == 2


def test_webhook_failure_is_logged_not_fatal_and_retried_next_time(seeded, tmp_path, caplog):
    con, second = seeded
    down = Receiver(status=503)
    try:
        publish(con, "r2", second, ["a", "b"])  # no saved lowest state yet: price and stock alerts only
        report = run_alerts(
            con, "r2", AlertsOptions(webhook_url=down.url, firehose=True), tmp_path / "a.jsonl"
        )
    finally:
        down.close()
    assert report.webhook == "failed: HTTP 503" and report.delivered == 0 and report.new == 4
    assert "webhook" in caplog.text and len(undelivered(con)) == 4
    unreachable = run_alerts(
        con, "r2", AlertsOptions(webhook_url=down.url, webhook_timeout=2, firehose=True), tmp_path / "a.jsonl"
    )
    assert unreachable.webhook.startswith("failed") and len(undelivered(con)) == 4
    up = Receiver()
    try:
        retried = run_alerts(
            con, "r2", AlertsOptions(webhook_url=up.url, firehose=True), tmp_path / "a.jsonl"
        )
    finally:
        up.close()
    assert retried.new == 0 and retried.delivered == 4 and len(up.bodies[0]["alerts"]) == 4
    assert undelivered(con) == []


def test_without_the_opt_in_nothing_unwatched_alerts(seeded, receiver, tmp_path):
    con, second = seeded
    publish(con, "r2", second, ["a", "b"])
    report = run_alerts(con, "r2", AlertsOptions(webhook_url=receiver.url), tmp_path / "a.jsonl")
    assert report.new == 0 and recent_alerts(con) == [] and receiver.bodies == []
    assert report.webhook == "nothing to send"
