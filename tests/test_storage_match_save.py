"""A match's state and edges are written to DuckDB a slice at a time (bounded memory at a million offers), and
the tables come out as if written at once."""

from __future__ import annotations

import shutil

from demo.records import listing_records
from service.match import run_match
from storage import connect
from storage import products as products_module
from tests.test_matching_incremental import _crawl, _read

TABLES = {
    "match_state": "SELECT * FROM match_state ORDER BY marketplace, listing_id",
    "match_edges": "SELECT * FROM match_edges ORDER BY key_a, key_b",
    "product_offers": "SELECT marketplace, listing_id, product_id FROM product_offers ORDER BY 1, 2",
}


def _tables(db) -> dict[str, list[tuple]]:
    return {name: _read(db, sql) for name, sql in TABLES.items()}


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


def test_offers_read_for_matching_in_batches_are_every_offer_once(tmp_path, monkeypatch) -> None:
    """The offers a full match reads, fetched a few at a time, are those fetched at once, in key order; and
    the match made of them is the same."""
    records, _ = listing_records(300, 22)
    whole, batched = tmp_path / "whole.duckdb", tmp_path / "batched.duckdb"
    _crawl(whole, "c1", records)
    shutil.copy(whole, batched)
    con = connect(whole, read_only=True)
    try:
        at_once = products_module.offers_for_matching(con)
        monkeypatch.setattr(products_module, "FETCH_BATCH", 7)
        in_batches = products_module.offers_for_matching(con)
    finally:
        con.close()
    assert len(at_once) > 7 * 10 and in_batches == at_once
    assert [r.key for r in in_batches] == sorted({r.key for r in records})
    run_match(batched, workers=1)
    monkeypatch.setattr(products_module, "FETCH_BATCH", 100_000)
    run_match(whole, workers=1)
    assert _tables(batched) == _tables(whole)


def test_a_full_and_an_incremental_match_record_the_same_offers_and_marketplaces(tmp_path) -> None:
    """A full match reads no kept state (it would be held unused beside the match), yet reports and records
    what an incremental match of the same offers does."""
    records, _ = listing_records(200, 23)
    db = tmp_path / "m.duckdb"
    _crawl(db, "c1", records)
    full = run_match(db, workers=1)
    again = run_match(db, workers=1)
    forced = run_match(db, workers=1, full=True)
    assert (full.mode, again.mode, forced.mode) == ("full", "incremental", "full")
    assert full.offers == again.offers == forced.offers == len({r.key for r in records})
    recorded = _read(db, "SELECT marketplaces FROM runs WHERE kind = 'match' ORDER BY started_at")
    assert len(recorded) == 3 and len({str(m) for (m,) in recorded}) == 1
    assert sorted(recorded[0][0]) == sorted({r.marketplace for r in records})
