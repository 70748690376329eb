"""What keeps the matcher's workers from copying the parent's memory (frozen objects, packed rows), and the
sliced veto check."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from demo.records import listing_records
from matching import MatchConfig
from matching import store as store_module
from matching.columns import prepare_rows, row_blob
from matching.forking import fork_map
from matching.store import PackedRows, PreparedStore

KEPT = [[k] for k in range(1_000)]
"""Objects alive before the workers fork (each a list: the cycle collector tracks it)."""


def _frozen_in_worker(k: int) -> tuple[int, int, bool]:
    return k, gc.get_freeze_count(), gc.is_tracked(KEPT[k])


def test_workers_run_with_the_parents_objects_out_of_the_collectors_reach() -> None:
    frozen_by_others = gc.get_freeze_count()  # the storefront's tests freeze the heap (api.app)
    gc.unfreeze()
    try:
        got = fork_map(_frozen_in_worker, list(range(6)), 2)
        assert [k for k, _, _ in got] == list(range(6))  # in order
        assert all(count >= len(KEPT) for _, count, _ in got)  # the parent's objects: frozen in the workers
        assert all(tracked for _, _, tracked in got)
        assert gc.get_freeze_count() == 0  # and given back to the parent's collector afterwards
        gc.freeze()  # frozen by the process itself: left frozen
        frozen = gc.get_freeze_count()
        fork_map(_frozen_in_worker, [1, 2], 2)
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
        if frozen_by_others:
            gc.freeze()


def test_one_worker_forks_nothing_and_freezes_nothing() -> None:
    assert fork_map(_frozen_in_worker, [3], 2) == [(3, gc.get_freeze_count(), True)]


def test_veto_check_in_slices_is_the_check_at_once(monkeypatch) -> None:
    records, _ = listing_records(1_500, 3)
    config = MatchConfig.load("default")
    store = PreparedStore.prepare(records, config.cjk_tokens)
    codes = store.candidate_codes(config)
    n = len(store)
    at_once = store.veto_codes(config).vetoed(codes // n, codes % n)
    monkeypatch.setattr(store_module, "VETO_SLICE", 97)
    sliced = store.vetoed(config, codes)
    assert at_once.any() and not at_once.all()
    assert np.array_equal(sliced, at_once)


def test_packed_rows_are_the_rows_prepared() -> None:
    records, _ = listing_records(700, 5)
    rows = prepare_rows(sorted(records, key=lambda r: r.key))
    packed = PackedRows.concat(
        [PackedRows.pack(rows[:250]), PackedRows.pack([]), PackedRows.pack(rows[250:])]
    )
    assert len(packed) == len(rows)
    assert list(packed) == rows
    assert packed[-1] == rows[-1] and packed.blob(3) == row_blob(rows[3])
    with pytest.raises(IndexError):
        packed[len(rows)]
    store = PreparedStore.prepare(records, workers=2)
    assert isinstance(store.rows, PackedRows) and list(store.rows) == rows
    assert store.norms == [r.norm for r in rows]
    assert store.keys == sorted(r.key for r in records)
    assert len(PreparedStore.prepare([], workers=2)) == 0
