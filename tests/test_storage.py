"""Storage: migrations, staging → commit (all or nothing), history append-only, comparison query."""

from decimal import Decimal

import duckdb
import pytest

from storage import StorageError, connect
from storage.migrations import MIGRATIONS
from storage.offers import commit_run, stage_offers, staged_count, start_run
from storage.products import SavedGroup, save_products
from storage.working_queries import compare, shipping_fill_rates


def publish(con, run_id, offers, marketplaces=None):
    start_run(con, run_id, "crawl", sorted({o.marketplace for o in offers}))
    stage_offers(con, run_id, offers)
    return commit_run(con, run_id, marketplaces or sorted({o.marketplace for o in offers}), "finished", {})


def test_migrations_are_recorded_once(db_path):
    connect(db_path).close()
    con = connect(db_path)
    assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)
    con.close()
    ro = connect(db_path, read_only=True)
    assert ro.execute("SELECT count(*) FROM offers").fetchone()[0] == 0


def test_foreign_corrupt_and_missing_files(tmp_path):
    foreign = tmp_path / "foreign.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.close()
    with pytest.raises(StorageError, match="not a bijia database"):
        connect(foreign)
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StorageError, match="garbage.duckdb"):
        connect(garbage)
    with pytest.raises(StorageError, match="no such database"):
        connect(tmp_path / "none.duckdb", read_only=True)


def test_staging_is_invisible_until_commit_and_dedupes(db_path, offer_factory):
    con = connect(db_path)
    start_run(con, "r1", "crawl", ["a"])
    stage_offers(con, "r1", [offer_factory("a", "1", "Phone", "10.00")])
    stage_offers(con, "r1", [offer_factory("a", "1", "Phone", "9.00"), offer_factory("a", "2", "Case", "5")])
    assert staged_count(con, "r1") == {"a": 2}
    assert con.execute("SELECT count(*) FROM offers").fetchone()[0] == 0
    assert commit_run(con, "r1", ["a"], "finished", {}) == 2
    assert con.execute("SELECT price FROM offers WHERE listing_id = '1'").fetchone()[0] == Decimal("9.00")
    assert con.execute("SELECT count(*) FROM prices").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM staging_offers").fetchone()[0] == 0
    assert con.execute("SELECT status FROM runs WHERE run_id = 'r1'").fetchone()[0] == "finished"


def test_history_appends_and_latest_state_updates(db_path, offer_factory):
    con = connect(db_path)
    publish(con, "r1", [offer_factory("a", "1", "Phone", "10"), offer_factory("a", "2", "Case", "5")])
    publish(con, "r2", [offer_factory("a", "1", "Phone", "8")])
    assert con.execute("SELECT price FROM prices WHERE listing_id = '1' ORDER BY observed_at").fetchall() == [
        (Decimal("10.00"),),
        (Decimal("8.00"),),
    ]
    assert con.execute("SELECT price, last_run_id FROM offers WHERE listing_id = '1'").fetchone() == (
        Decimal("8.00"),
        "r2",
    )
    # a listing not seen again is kept, counted as missed, never deleted
    assert con.execute("SELECT missed_runs FROM offers WHERE listing_id = '2'").fetchone()[0] == 1


def test_failed_marketplace_is_not_published(db_path, offer_factory):
    con = connect(db_path)
    start_run(con, "r1", "crawl", ["a", "b"])
    stage_offers(con, "r1", [offer_factory("a", "1", "Phone", "10"), offer_factory("b", "1", "Phone", "11")])
    assert commit_run(con, "r1", ["a"], "partial", {}) == 1
    assert con.execute("SELECT marketplace FROM offers").fetchall() == [("a",)]


def test_compare_lowest_landed_price_and_saving(db_path, offer_factory):
    con = connect(db_path)
    offers = [
        offer_factory("a", "1", "Apple iPhone 15 128GB", "5999", shipping=Decimal("10")),
        offer_factory(
            "b", "9", "苹果 iPhone 15 128G", "6099", final_price=Decimal("5899"), shipping=Decimal(0)
        ),
        offer_factory("b", "10", "苹果 iPhone 15 128G 旗舰店", "5000", in_stock=False),
        offer_factory("c", "x", "iPhone 15 128 GB", "6200"),
    ]
    publish(con, "r1", offers)
    save_products(
        con,
        "m1",
        [SavedGroup("p_1", ["a/1", "b/9", "b/10", "c/x"], 0.9, {})],
        {"p_1": ("Apple iPhone 15 128GB", "Apple", None)},
    )
    [row] = compare(con)
    assert row.lowest.marketplace == "b" and row.lowest.landed_price == Decimal("5899.00")
    assert [b.marketplace for b in row.best] == ["b", "a", "c"]  # out-of-stock b/10 is ignored
    # c's shipping is unknown: ranked by its price (a lower bound) and flagged, or left out
    assert row.best[2].shipping_unknown and row.best[2].landed_price is None
    assert row.saving == Decimal("301.00")
    assert shipping_fill_rates(con) == {"a": (1, 1), "b": (1, 2), "c": (0, 1)}
    [excluded] = compare(con, unknown_shipping="exclude")
    assert [b.marketplace for b in excluded.best] == ["b", "a"] and excluded.apart[0].marketplace == "c"
    assert compare(con, "苹果") and compare(con, "IPHONE 128") and not compare(con, "samsung")
    assert compare(con, "100%_") == []  # LIKE wildcards are literal
