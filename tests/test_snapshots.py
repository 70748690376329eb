"""Publishing snapshots: atomic swap of CURRENT, nothing half-built ever named, old files cleaned up."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import storage
from storage import snapshot_tables, snapshots
from storage.offers import stage_offers, start_run
from storage.snapshots import current_snapshot, list_snapshots, publish
from storage.working_queries import compare
from tests.test_api_data import NOW, _offer, build_working_db


@pytest.fixture(scope="module")
def working(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_working_db(tmp_path_factory.mktemp("w") / "working.duckdb")


def test_publish_names_a_complete_readable_snapshot(working: Path, tmp_path: Path) -> None:
    sid = publish(working, tmp_path / "snaps")
    snap = current_snapshot(tmp_path / "snaps")
    assert snap is not None and snap.id == sid and snap.path.is_file()
    assert (tmp_path / "snaps" / "CURRENT").read_text().strip() == f"{sid}.duckdb"
    con = storage.connect(snap.path, read_only=True)  # still a bijia database: the CLI can read it too
    try:
        rows = compare(con, "iphone")
        assert rows[0].lowest.marketplace == "jingxuan"
        assert con.execute("SELECT snapshot_id FROM api_meta").fetchone() == (sid,)
        assert con.execute("SELECT count(*) FROM staging_offers").fetchone() == (0,)
    finally:
        con.close()
    assert not list((tmp_path / "snaps").glob(".*.tmp*"))


def test_a_crashed_publish_publishes_nothing(working: Path, tmp_path: Path, monkeypatch) -> None:
    first = publish(working, tmp_path / "snaps")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(snapshots, "build_api_tables", boom)
    with pytest.raises(RuntimeError):
        publish(working, tmp_path / "snaps")
    assert current_snapshot(tmp_path / "snaps").id == first
    assert [s.id for s in list_snapshots(tmp_path / "snaps")] == [first]
    assert not list((tmp_path / "snaps").glob(".*.tmp*"))


def test_a_crashed_run_is_not_in_the_snapshot(tmp_path: Path) -> None:
    working = build_working_db(tmp_path / "w.duckdb", days=1)
    con = storage.connect(working)
    start_run(con, "crashed", "crawl", ["techmall"])  # staged, never committed: a killed crawl
    stage_offers(
        con,
        "crashed",
        [_offer("techmall", "NEW-1", "Brand new phone", "1.00", None, "0", True, "X", "phones", NOW, 0)],
    )
    con.close()
    publish(working, tmp_path / "snaps")
    snap = current_snapshot(tmp_path / "snaps")
    ro = duckdb.connect(str(snap.path), read_only=True)
    try:
        assert ro.execute("SELECT count(*) FROM offers WHERE listing_id = 'NEW-1'").fetchone() == (0,)
        assert ro.execute("SELECT count(*) FROM api_offers WHERE listing_id = 'NEW-1'").fetchone() == (0,)
    finally:
        ro.close()


def test_old_snapshots_are_cleaned_up(working: Path, tmp_path: Path) -> None:
    ids = [publish(working, tmp_path / "snaps", keep=2) for _ in range(4)]
    assert [s.id for s in list_snapshots(tmp_path / "snaps")] == ids[-2:]
    assert current_snapshot(tmp_path / "snaps").id == ids[-1]


def test_a_reader_of_a_deleted_snapshot_keeps_reading(working: Path, tmp_path: Path) -> None:
    publish(working, tmp_path / "snaps", keep=1)
    old = current_snapshot(tmp_path / "snaps")
    con = duckdb.connect(str(old.path), read_only=True)
    try:
        publish(working, tmp_path / "snaps", keep=1)
        assert not old.path.exists()
        assert con.execute("SELECT count(*) FROM api_products").fetchone()[0] == 33
    finally:
        con.close()


def test_publish_refuses_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(storage.StorageError, match="no such database"):
        publish(tmp_path / "nope.duckdb", tmp_path / "snaps")
    assert current_snapshot(tmp_path / "snaps") is None


class _Recorder:
    """A cursor that records the statements the API's queries run."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.statements = con, []

    def execute(self, sql: str, params: list | None = None) -> duckdb.DuckDBPyConnection:
        self.statements.append((sql, params))
        return self.con.execute(sql, params)


def test_the_api_point_lookups_scan_an_index(working: Path, tmp_path: Path) -> None:
    """DuckDB scans an ART index only for `one_column = constant` (not for a two-column key, nor with a second
    condition): every lookup of a product page, its history, an offer's history and a comparison must."""
    from datetime import date

    from storage import snapshot_queries as queries

    publish(working, tmp_path / "snaps")
    con = duckdb.connect(str(current_snapshot(tmp_path / "snaps").path), read_only=True)
    rec = _Recorder(con)
    try:
        assert queries.product_page(rec, "p_xm5") is not None
        assert queries.product_offers(rec, "p_xm5") is not None
        assert queries.product_history(rec, "p_xm5", 90, today=date.today()) is not None
        found = queries.offer_history(rec, "techmall", "TM-IP15P-256-BK", 90, today=date.today())
        assert found is not None and found.product_id == "p_iphone15pro" and len(found.table.rows) == 3
        assert queries.compare_products(rec, ["p_xm5", "p_mate60"])[2] == []
        assert len(rec.statements) == 8
        for sql, params in rec.statements:
            plan = con.execute("EXPLAIN ANALYZE " + sql, params).fetchall()[0][1]  # decided when it runs
            assert "Type: Index Scan" in plan and "Type: Sequential Scan" not in plan, sql
    finally:
        con.close()


def test_offer_keys_are_unambiguous(working: Path, tmp_path: Path) -> None:
    assert snapshot_tables.offer_key("ab", "c") != snapshot_tables.offer_key("a", "bc")
    publish(working, tmp_path / "snaps")
    con = duckdb.connect(str(current_snapshot(tmp_path / "snaps").path), read_only=True)
    try:
        assert con.execute("SELECT offer_key FROM api_offer_keys WHERE okey = 1").fetchone() == (
            snapshot_tables.offer_key(
                *con.execute(
                    "SELECT marketplace, listing_id FROM offers ORDER BY marketplace, listing_id LIMIT 1"
                ).fetchone()
            ),
        )
        assert (
            con.execute("SELECT count(*) FROM api_offer_keys").fetchone()
            == con.execute("SELECT count(*) FROM offers").fetchone()
        )
    finally:
        con.close()


def test_a_pointer_to_a_missing_snapshot_is_logged_once_and_the_old_one_serves(
    working: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from api.snapshots import SnapshotManager

    sid = publish(working, tmp_path / "snaps")
    manager = SnapshotManager(tmp_path / "snaps", background=False)
    try:
        with manager.acquire() as reading:
            assert reading.snapshot.id == sid
        (tmp_path / "snaps" / "CURRENT").write_text("20990101T000000000000Z-000000.duckdb\n")
        with caplog.at_level("WARNING", logger="bijia.api"):
            for _ in range(5):
                manager.refresh(force=True)
                with manager.acquire() as reading:
                    assert reading.snapshot.id == sid
        warnings = [r for r in caplog.records if "cannot open snapshot" in r.getMessage()]
        assert len(warnings) == 1 and "20990101T000000000000Z-000000" in warnings[0].getMessage()
    finally:
        manager.close()
