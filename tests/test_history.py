"""Reference prices and real discounts from the append-only price history, daily history,, and offers marked gone after N missed runs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli import app
from storage import connect
from storage.history import daily_history, mark_gone, offer_facts, product_facts
from storage.offers import commit_run, stage_offers, start_run
from storage.products import SavedGroup, save_products
from storage.rates import Conversion
from storage.snapshots import publish
from tests.test_api_data import build_working_db

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def day(n: float) -> datetime:
    return NOW - timedelta(days=n)


def observe(con, run_id, offers, ok=None):
    ok = ok or sorted({o.marketplace for o in offers})
    start_run(con, run_id, "run", ok)
    stage_offers(con, run_id, offers)
    commit_run(con, run_id, ok, "finished", {})


def seed(con, o):
    """P (a/1, b/1): cut to 80 two days ago, lowest before that in 30 days 85 (b, 15 days ago).
    Q (c/1): back to 75 after 100; it was 70 twenty days ago — not a real discount."""
    observe(
        con,
        "d40",
        [
            o("a", "1", "Phone", "60", in_stock=False, observed_at=day(40)),
            o("c", "1", "Kettle", "70", observed_at=day(40)),
        ],
    )
    observe(
        con,
        "d20",
        [o("a", "1", "Phone", "100", observed_at=day(20)), o("c", "1", "Kettle", "70", observed_at=day(20))],
    )
    observe(con, "d15", [o("b", "1", "Phone", "85", observed_at=day(15))])
    observe(
        con,
        "d10",
        [o("a", "1", "Phone", "95", observed_at=day(10)), o("c", "1", "Kettle", "100", observed_at=day(10))],
    )
    observe(
        con,
        "d2",
        [
            o("a", "1", "Phone", "80", observed_at=day(2)),
            o("a", "9", "Old phone", "1", in_stock=False, observed_at=day(2)),
        ],
    )
    observe(
        con,
        "d1",
        [
            o("a", "1", "Phone", "80", observed_at=day(1)),
            o("b", "1", "Phone", "85", observed_at=day(1)),
            o("c", "1", "Kettle", "75", observed_at=day(1)),
        ],
    )
    save_products(
        con,
        "m",
        [SavedGroup("P", ["a/1", "b/1"], 1.0, {}), SavedGroup("Q", ["c/1"], 1.0, {})],
        {"P": ("Phone", None, None), "Q": ("Kettle", None, None)},
    )


CNY = {"CNY": Conversion("CNY", Decimal(1), None)}


def test_real_discount_is_judged_against_the_30_days_before_the_price_took_effect(db_path, offer_factory):
    con = connect(db_path)
    seed(con, offer_factory)
    facts = product_facts(con, CNY, now=NOW)
    p, q = facts["P"], facts["Q"]
    assert (p.price_now, p.marketplace, p.since) == (Decimal("80.00"), "a", day(2).date())
    # daily lows before day -2: 100 (d20), 85 (b, d15), 95 (d10); the 60 of d40 was out of stock and old
    assert p.reference_price == Decimal("85.00") and p.is_real_discount
    assert p.low_all_time == Decimal("80.00")  # the second day at 80 (d1) did not move "since" either
    # Q merely returned to a recent low: not a real discount
    assert (q.price_now, q.since, q.reference_price, q.is_real_discount) == (
        Decimal("75.00"),
        day(1).date(),
        Decimal("70.00"),
        False,
    )
    assert q.low_all_time == Decimal("70.00")
    assert product_facts(con, CNY, ["Q"], now=NOW).keys() == {"Q"}
    offers = offer_facts(con, ["P"], now=NOW)
    assert offers.keys() == {("a", "1"), ("b", "1")}
    a = offers[("a", "1")]  # offer a/1: 100 (d20), 95 (d10), 80 since d2
    assert (a.price_now, a.since, a.reference_price, a.is_real_discount) == (
        Decimal("80.00"),
        day(2),
        Decimal("95.00"),
        True,
    )
    b = offers[("b", "1")]  # b/1 at 85 since d15: nothing before it
    assert (b.since, b.reference_price, b.is_real_discount) == (day(15), None, False)


def history_of(con, o, prices: list[str], *, other: str | None = None):
    """One offer a/1 (and optionally b/1 at ``other``) crawled once a day, oldest first, ending today."""
    for n, price in enumerate(prices):
        at = NOW - timedelta(days=len(prices) - 1 - n, hours=1)
        offers = [o("a", "1", "Phone", price, observed_at=at)]
        if other:
            offers.append(o("b", "1", "Phone", other, observed_at=at))
        observe(con, f"r{n:02d}", offers, ok=["a", "b"] if other else ["a"])
    members = ["a/1", "b/1"] if other else ["a/1"]
    save_products(con, "m", [SavedGroup("P", members, 1.0, {})], {"P": ("Phone", None, None)})
    return product_facts(con, CNY, now=NOW)["P"], offer_facts(con, now=NOW)[("a", "1")]


@pytest.mark.parametrize(
    ("prices", "other", "real"),
    [
        (["100"], "90", False),  # one crawl: nothing before it, never a discount (nor from the other shop)
        (["100"] * 7 + ["80"], None, True),  # a drop after a stable week
        (["100"] * 7 + ["80", "80", "80"], None, True),  # ... stays one while it lasts
        (["100"] * 10 + ["150"] * 3 + ["110"], None, False),  # raise, then a "sale" above the old price
        (["100"] * 7 + ["95"], "90", False),  # cheaper than before, not cheaper than the other shop was
        (["100"] * 7 + ["85"], "90", True),
    ],
)
def test_reference_price_rule(db_path, offer_factory, prices, other, real):
    product, offer = history_of(connect(db_path), offer_factory, prices, other=other)
    assert product.is_real_discount is real
    if other is None:
        assert offer.is_real_discount is real and offer.reference_price == product.reference_price


def test_a_price_rise_is_not_a_discount_whatever_the_older_history(db_path, offer_factory):
    o, con = offer_factory, connect(db_path)
    for n, (pa, pb) in enumerate([("100", "100")] * 40 + [("100", "70")] * 5 + [("80", "200")]):
        at = NOW - timedelta(days=45 - n, hours=1)
        observe(
            con,
            f"r{n:02d}",
            [o("a", "1", "Phone", pa, observed_at=at), o("b", "1", "Phone", pb, observed_at=at)],
        )
    save_products(con, "m", [SavedGroup("P", ["a/1", "b/1"], 1.0, {})], {"P": ("Phone", None, None)})
    p = product_facts(con, CNY, now=NOW)["P"]
    assert (p.price_now, p.reference_price, p.is_real_discount) == (Decimal("80.00"), Decimal("70.00"), False)


def test_offers_without_a_usable_rate_are_left_out_of_product_facts(db_path, offer_factory):
    o, con = offer_factory, connect(db_path)
    observe(con, "r1", [o("a", "1", "Phone", "100"), replace(o("u", "1", "Phone", "10"), currency="USD")])
    save_products(con, "m", [SavedGroup("P", ["a/1", "u/1"], 1.0, {})], {"P": ("Phone", None, None)})
    assert product_facts(con, CNY)["P"].marketplace == "a"
    with_usd = {**CNY, "USD": Conversion("USD", Decimal("7.1"), day(3).date())}
    p = product_facts(con, with_usd)["P"]
    assert (p.marketplace, p.price_now) == ("u", Decimal("71.00"))


def test_no_history_before_means_no_discount_claim(db_path, offer_factory):
    con = connect(db_path)
    observe(con, "r1", [offer_factory("a", "1", "Phone", "80", observed_at=day(1))])
    save_products(con, "m", [SavedGroup("P", ["a/1"], 1.0, {})], {"P": ("Phone", None, None)})
    p = product_facts(con, CNY, now=NOW)["P"]
    assert p.reference_price is None and not p.is_real_discount and p.low_all_time == Decimal("80.00")


def test_daily_history_groups_by_day_and_marketplace(db_path, offer_factory):
    con = connect(db_path)
    seed(con, offer_factory)
    rows = daily_history(con, "P", now=NOW)
    assert [(r["day"], r["marketplace"], str(r["low"])) for r in rows] == [
        (day(40).date(), "a", "60.00"),
        (day(20).date(), "a", "100.00"),
        (day(15).date(), "b", "85.00"),
        (day(10).date(), "a", "95.00"),
        (day(2).date(), "a", "80.00"),
        (day(1).date(), "a", "80.00"),
        (day(1).date(), "b", "85.00"),
    ]
    assert rows[0]["in_stock"] is False
    assert len(daily_history(con, "P", days=5, now=NOW)) == 3


def test_offers_missed_n_runs_are_marked_gone_not_deleted_and_come_back(db_path, offer_factory):
    o = offer_factory
    con = connect(db_path)
    observe(con, "r0", [o("a", "1", "Phone", "10"), o("a", "2", "Case", "5"), o("b", "1", "Phone", "11")])
    for n in range(1, 4):
        observe(con, f"r{n}", [o("a", "1", "Phone", "10")], ok=["a"])
        gone = mark_gone(con, ["a"], after_runs=3)
        assert gone == (1 if n == 3 else 0)
    rows = dict(con.execute("SELECT marketplace || '/' || listing_id, gone FROM offers").fetchall())
    # b was not crawled in r1..r3 (a failed or skipped marketplace): unknown, not gone
    assert rows == {"a/1": False, "a/2": True, "b/1": False}
    assert con.execute("SELECT count(*) FROM prices WHERE listing_id = '2'").fetchone()[0] == 1
    observe(con, "r4", [o("a", "2", "Case", "5")], ok=["a"])
    assert con.execute("SELECT gone, missed_runs FROM offers WHERE listing_id = '2'").fetchone() == (False, 0)


def test_one_crawl_claims_no_real_discount_anywhere(tmp_path):
    """The CLI, the API (and so the page) and the alerts' question read one definition: after a single
    crawl none of them says "real discount"."""
    working = build_working_db(tmp_path / "w.duckdb", days=1)
    con = connect(working)
    run_id = con.execute("SELECT run_id FROM runs WHERE kind = 'crawl'").fetchone()[0]
    assert not any(f.is_real_discount for f in offer_facts(con, run_id=run_id).values())  # alerts' view
    assert offer_facts(con, run_id=run_id).keys() == offer_facts(con).keys()
    con.close()
    rows = json.loads(CliRunner().invoke(app, ["compare", "--db", str(working), "-f", "json"]).stdout)
    assert rows and not any(r["facts"]["real_discount"] for r in rows if r["facts"])
    publish(working, tmp_path / "snaps")
    with TestClient(create_app(tmp_path / "snaps", check_interval=0)) as client:
        items = client.get("/api/v1/products", params={"limit": 100}).json()["items"]
        assert len(items) == 33 and not any(i["real_discount"] for i in items)
        offers = client.get("/api/v1/products/p_iphone15pro").json()["offers"]
        assert not any(o["real_discount"] for o in offers)
        history = client.get("/api/v1/products/p_iphone15pro/history").json()
        assert (history["reference_price"], history["real_discount"]) == (None, False)
