"""What keeps the matcher's workers from copying the parent's memory (frozen objects, packed rows), and the
sliced veto check."""

from __future__ import annotations

import gc
import itertools
import os

import numpy as np
import pytest

from demo.records import listing_records
from matching import MatchConfig
from matching import store as store_module
from matching.attributes import VARIANT_KEYS
from matching.blocking import VetoCodes, VetoPart
from matching.columns import group_member, materialise, prepare_rows, row_blob, row_from_blob
from matching.forking import fork_map
from matching.store import KeptRows, PackedBytes, PackedRows, PackedTexts, PreparedStore

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


def _process_and_frozen(k: int) -> tuple[int, int, int]:
    return k, os.getpid(), gc.get_freeze_count()


def test_one_worker_forks_nothing_and_freezes_nothing() -> None:
    before = gc.get_freeze_count()
    [(k, pid, frozen)] = fork_map(_process_and_frozen, [3], 2)
    assert (k, pid) == (3, os.getpid())  # run here: nothing forked
    # nothing frozen: a freeze would add every object made since (this test's, at least); objects frozen
    # before may die meanwhile (the storefront's tests leave the heap frozen), so the count may only fall
    assert frozen <= before


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
    assert list(store.norms) == [r.norm for r in rows]
    assert list(store.keys) == sorted(r.key for r in records)
    assert len(PreparedStore.prepare([], workers=2)) == 0


def test_packed_texts_read_back_every_text_as_it_was() -> None:
    """Chinese, emoji, empty and lone-surrogate texts, packed in parts (some empty) and read back one at a time,
    all in order, or a span of them."""
    texts = ["华为 mate 60 pro 12+512gb", "", "apple iphone 15", "🍎 pomme", "bad \udc80 byte", "x" * 300]
    texts = texts * 5
    packed = PackedTexts.concat(
        [PackedTexts.pack(texts[:7]), PackedTexts.pack([]), PackedTexts.pack(texts[7:])]
    )
    assert len(packed) == len(texts)
    assert [packed[i] for i in range(len(texts))] == texts and list(packed) == texts
    assert packed[-1] == texts[-1]
    for start, stop in [(0, 0), (0, 1), (3, 11), (7, len(texts)), (len(texts), len(texts))]:
        assert list(packed.texts(start, stop)) == texts[start:stop]
    with pytest.raises(IndexError):
        packed[len(texts)]
    assert list(PackedTexts.pack([])) == []
    hashes = [np.arange(k, dtype=np.int64).tobytes() for k in (3, 0, 1, 5)]
    assert list(PackedBytes.of(hashes)) == hashes


def test_a_prepared_store_holds_its_keys_titles_and_key_hashes_packed() -> None:
    """Millions of keys and titles as ``str`` objects would be made among the input records, and keep their
    memory from the system once they are freed."""
    records, _ = listing_records(2_000, 3)
    config = MatchConfig.load("default")
    store = PreparedStore.prepare(records, config.cjk_tokens, workers=2)
    assert isinstance(store.keys, PackedTexts) and isinstance(store.norms, PackedTexts)
    store.key_arrays(config, workers=2)
    assert isinstance(store.key_hashes, PackedBytes)
    single = PreparedStore.prepare(records, config.cjk_tokens, workers=1)
    assert list(single.keys) == list(store.keys) and list(single.norms) == list(store.norms)
    assert np.array_equal(single.title_rank(), store.title_rank())
    assert single.count_vocabulary(1).df == store.count_vocabulary(2).df


def test_veto_codes_coded_in_parts_are_the_codes_coded_at_once() -> None:
    rng = np.random.default_rng(5)
    colours = [f"c{k}" for k in range(80)]  # more than the 63 colour bits
    attrs = [
        {
            **({"size": str(rng.integers(0, 9))} if rng.random() < 0.7 else {}),
            **({"colour": "/".join(rng.choice(colours, rng.integers(1, 3)))} if rng.random() < 0.8 else {}),
        }
        for _ in range(600)
    ]
    gtins = [str(rng.integers(0, 50)) if rng.random() < 0.5 else None for _ in range(600)]
    config = MatchConfig.load("default")
    whole = VetoCodes.of(attrs, gtins, config)
    cuts = [0, 1, 1, 90, 333, 600]
    parts = [VetoPart.of(attrs[a:b], gtins[a:b], config) for a, b in itertools.pairwise(cuts)]
    merged = VetoCodes.merge(parts, config)
    for field in ("attrs", "colours", "gtins"):
        assert np.array_equal(getattr(merged, field), getattr(whole, field))
    assert (whole.colours == 0).any() and (whole.colours != 0).any()  # some colours past the 63 bits
    size = whole.attrs[:, [k for k in VARIANT_KEYS if k in config.vetoes and k != "colour"].index("size")]
    values = [a.get("size") for a in attrs]
    assert all((size[r] >= 0) == (values[r] is not None) for r in range(len(attrs)))
    stated = size[size >= 0]
    _, first = np.unique(stated, return_index=True)
    assert np.array_equal(np.argsort(first), np.arange(len(first)))  # numbered by first appearance
    assert len({(v, int(c)) for v, c in zip(values, size, strict=True)}) == len(set(values))  # one per value


def test_blocking_coded_by_the_hashing_workers_is_blocking_from_the_rows(monkeypatch) -> None:
    records, _ = listing_records(3_000, 11)
    config = MatchConfig.load("default")
    coded = PreparedStore.prepare(records, config.cjk_tokens, workers=2)
    coded.key_arrays(config, workers=2)
    assert coded._vetoes is not None and set(coded._coded) == {"twin", "veto"}  # coded by the workers
    twin_orders: list[int] = []
    twin_keys = coded.twin_keys
    monkeypatch.setattr(coded, "twin_keys", lambda rows: twin_orders.append(len(rows)) or twin_keys(rows))
    codes = coded.candidate_codes(config, vetoes=True, workers=2)
    assert twin_orders and twin_orders[0] > 100  # a large block was ordered by the coded twin keys
    kept = PreparedStore(coded.keys, coded.markets, coded.rows, list(coded.key_hashes), coded.norms)
    assert np.array_equal(kept.candidate_codes(config, vetoes=True), codes)  # hashes kept: rows read
    every = list(range(len(kept)))
    assert kept.twin_keys(every) == twin_keys(every)
    assert kept.texts("veto", every) == coded.texts("veto", every)
    for field in ("attrs", "colours", "gtins"):
        assert np.array_equal(
            getattr(kept.veto_codes(config), field), getattr(coded.veto_codes(config), field)
        )


def test_grouping_reads_of_a_row_what_the_whole_objects_hold() -> None:
    records, _ = listing_records(2_000, 13)
    rows = prepare_rows(sorted(records, key=lambda r: r.key))
    assert any(materialise("k", "m", r)[0].bare_numbers for r in rows)
    for row in rows:
        whole, identity = materialise("k", "m", row)
        member, member_identity = group_member("k", "m", row)
        assert member_identity == identity
        assert (member.key, member.marketplace, member.attrs, member.bare_numbers) == (
            whole.key, whole.marketplace, whole.attrs, whole.bare_numbers
        )  # fmt: skip


def test_a_store_gives_each_row_as_bytes_whatever_holds_it() -> None:
    records, _ = listing_records(300, 17)
    packed = PreparedStore.prepare(records, workers=1)
    rows = list(packed.rows)
    blobs = [row_blob(r) for r in rows]
    fetched: list[int] = []

    def fetch(wanted: list[int]) -> list[bytes]:
        fetched.extend(wanted)
        return [blobs[i] for i in wanted]

    kept = KeptRows([None, rows[1], blobs[2], *([None] * (len(rows) - 3))], fetch)
    for holder in (packed.rows, kept, rows):
        store = PreparedStore(packed.keys, packed.markets, holder, norms=packed.norms)
        assert [row_from_blob(store.row_blob(i)) for i in range(len(rows))] == rows
    assert fetched == [0, *range(3, len(rows))]  # the kept rows not held were read, once each


def test_title_order_of_some_rows_is_their_order_among_all_titles() -> None:
    records, _ = listing_records(400, 19)
    packed = PreparedStore.prepare(records, workers=1)
    n = len(packed)
    rng = np.random.default_rng(4)
    few = rng.integers(0, n, size=n // 5)  # repeats, any order: the left rows of candidate pairs
    by_title = sorted(range(n), key=lambda i: (packed.norms[i], i))
    place = {row: k for k, row in enumerate(by_title)}
    expected = sorted(range(len(few)), key=lambda k: (place[int(few[k])], k))

    fresh = PreparedStore(packed.keys, packed.markets, packed.rows, norms=packed.norms)
    assert fresh.title_order(few).tolist() == expected  # the order of these rows alone
    assert fresh._title_rank is None  # all titles were not sorted for a few rows
    _ = fresh.title_rank()
    assert fresh.title_order(few).tolist() == expected  # from the order of all titles, once sorted


def test_tokens_counted_on_workers_are_the_counts_in_one_process(monkeypatch) -> None:
    records, _ = listing_records(500, 23)
    packed = PreparedStore.prepare(records, workers=1)
    monkeypatch.setattr(store_module, "VOCABULARY_FORK", 10)
    counted = {}
    for workers in (1, 2, 3):
        store = PreparedStore(packed.keys, packed.markets, packed.rows, norms=packed.norms)
        vocab = store.count_vocabulary(workers)
        counted[workers] = (list(vocab.df.items()), vocab.n)  # the same counts, in the same order
    assert counted[1] == counted[2] == counted[3]
    assert counted[1][1] == len(packed) and sum(c for _, c in counted[1][0]) > len(packed)
    empty = PreparedStore([], [], [], norms=[])
    assert empty.count_vocabulary(2).n == 0
