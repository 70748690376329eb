"""A match's state and edges are written to DuckDB a slice at a time (bounded memory at a million offers), and
the tables come out as if written at once."""

from __future__ import annotations

import shutil

from demo.records import listing_records
from service.match import run_match
from storage import connect
from storage import products as products_module
from tests.test_matching_incremental import _crawl

TABLES = {
    "match_state": "SELECT * FROM match_state ORDER BY marketplace, listing_id",
    "match_edges": "SELECT * FROM match_edges ORDER BY key_a, key_b",
    "product_offers": "SELECT marketplace, listing_id, product_id FROM product_offers ORDER BY 1, 2",
}


def _tables(db) -> dict[str, list[tuple]]:
    con = connect(db, read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}
    finally:
        con.close()


def test_match_written_in_slices_is_the_match_written_at_once(tmp_path, monkeypatch) -> None:
    records, _ = listing_records(300, 21)
    whole, sliced = tmp_path / "whole.duckdb", tmp_path / "sliced.duckdb"
    _crawl(whole, "c1", records)
    shutil.copy(whole, sliced)
    run_match(whole, workers=1)
    monkeypatch.setattr(products_module, "INSERT_SLICE", 7)
    run_match(sliced, workers=1)
    expected, got = _tables(whole), _tables(sliced)
    assert len(expected["match_state"]) > 7 * 10 and len(expected["match_edges"]) > 7 * 10  # many slices
    assert got == expected
