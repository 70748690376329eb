"""Real-discount facts from the append-only price history, and offers marked gone after N missed runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from storage import connect
from storage.history import discount_facts, mark_gone, price_history
from storage.offers import commit_run, stage_offers, start_run
from storage.products import SavedGroup, save_products

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


def test_real_discount_is_judged_against_the_30_days_before_the_price_took_effect(db_path, offer_factory):
    con = connect(db_path)
    seed(con, offer_factory)
    facts = discount_facts(con, now=NOW)
    p, q = facts["P"], facts["Q"]
    assert (p.price_now, p.marketplace, p.since) == (Decimal("80.00"), "a", day(2))
    # 30 days before day -2: 100 (a, d20), 85 (b, d15), 95 (a, d10); the 60 of d40 was out of stock and old
    assert p.low_30d == Decimal("85.00") and p.is_real_discount
    assert p.low_all_time == Decimal("80.00")  # the second run at 80 (d1) did not move "since" either
    # Q merely returned to a recent low: not a real discount
    assert (q.price_now, q.since, q.low_30d, q.is_real_discount) == (
        Decimal("75.00"),
        day(1),
        Decimal("70.00"),
        False,
    )
    assert q.low_all_time == Decimal("70.00")
    assert discount_facts(con, ["Q"], now=NOW).keys() == {"Q"}


def test_no_history_before_means_no_discount_claim(db_path, offer_factory):
    con = connect(db_path)
    observe(con, "r1", [offer_factory("a", "1", "Phone", "80", observed_at=day(1))])
    save_products(con, "m", [SavedGroup("P", ["a/1"], 1.0, {})], {"P": ("Phone", None, None)})
    p = discount_facts(con, now=NOW)["P"]
    assert p.low_30d is None and not p.is_real_discount and p.low_all_time == Decimal("80.00")


def test_price_history_lists_every_observation_oldest_first(db_path, offer_factory):
    con = connect(db_path)
    seed(con, offer_factory)
    rows = price_history(con, "P", now=NOW)
    assert [(r["marketplace"], str(r["landed_price"])) for r in rows] == [
        ("a", "60.00"),
        ("a", "100.00"),
        ("b", "85.00"),
        ("a", "95.00"),
        ("a", "80.00"),
        ("a", "80.00"),
        ("b", "85.00"),
    ]
    assert len(price_history(con, "P", days=5, now=NOW)) == 3


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
