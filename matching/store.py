"""The prepared offers of one match as columns: keys, marketplaces and compact rows (:mod:`matching.columns`),
with what the stages need of all of them at once — the vocabulary, the blocking keys, the veto codes, the
title order — and the ``Prepared``/``Identity`` objects of only the rows a chunk of work touches."""

from __future__ import annotations

import multiprocessing
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .blocking import VetoCodes, codes_from_keys, keys_of
from .columns import Row, materialise, prepare_rows
from .config import MatchConfig
from .identity import Identity
from .prepare import Prepared, Vocabulary
from .records import OfferRecord

PREPARE_CHUNK = 20_000
"""Records per preparing task."""


def stable_hash(key: str) -> int:
    """A 63-bit hash of a blocking key that is the same in every process and run (kept with the rows)."""
    data = key.encode()
    return (zlib.crc32(data) << 31) ^ zlib.adler32(data)


class PreparedStore:
    """Prepared offers sorted by key (index = position)."""

    def __init__(
        self,
        keys: list[str],
        markets: list[str],
        rows: list[Row],
        key_hashes: list[bytes | None] | None = None,
    ) -> None:
        self.keys, self.markets, self.rows = keys, markets, rows
        self.key_hashes: list[bytes | None] = key_hashes or [None] * len(rows)
        """Each row's blocking key hashes (int64 bytes), once computed or when kept from the last match."""
        self._vocab: Vocabulary | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def prepare(cls, records: Sequence[OfferRecord], cjk: str = "bigram", workers: int = 1) -> PreparedStore:
        """Prepare ``records`` (any order) on ``workers`` processes."""
        records = sorted(records, key=lambda r: r.key)
        return cls(
            [r.key for r in records], [r.marketplace for r in records], _prepare(records, cjk, workers)
        )

    def objects(self, rows: Iterable[int]) -> tuple[list[Prepared], list[Identity]]:
        """``Prepared`` and ``Identity`` of the given rows, in their order."""
        prepared: list[Prepared] = []
        identities: list[Identity] = []
        for i in rows:
            p, ident = materialise(self.keys[i], self.markets[i], self.rows[i])
            prepared.append(p)
            identities.append(ident)
        return prepared, identities

    @property
    def vocab(self) -> Vocabulary:
        if self._vocab is None:
            self._vocab = Vocabulary(frozenset(r.norm.split()) for r in self.rows)
        return self._vocab

    def key_arrays(self, config: MatchConfig, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(key hash, row) per blocking key of each offer; rows without kept hashes get them now."""
        missing = [i for i, h in enumerate(self.key_hashes) if h is None]
        if missing:
            _ = self.vocab
            spans = [missing[s : s + PREPARE_CHUNK] for s in range(0, len(missing), PREPARE_CHUNK)]
            for span, hashes in zip(spans, _map(self, config, _hash_rows, spans, workers), strict=True):
                for i, h in zip(span, hashes, strict=True):
                    self.key_hashes[i] = h
        blobs = [h or b"" for h in self.key_hashes]
        lengths = np.fromiter((len(b) // 8 for b in blobs), dtype=np.int64, count=len(blobs))
        keys = np.frombuffer(b"".join(blobs), dtype=np.int64)
        return keys, np.repeat(np.arange(len(blobs), dtype=np.int64), lengths)

    def title_rank(self) -> np.ndarray:
        rank = np.empty(len(self.rows), dtype=np.int64)
        order = sorted(range(len(self.rows)), key=lambda i: self.rows[i].norm)
        rank[np.array(order, dtype=np.int64)] = np.arange(len(self.rows))
        return rank

    def candidate_codes(
        self,
        config: MatchConfig,
        dirty: np.ndarray | None = None,
        vetoes: VetoCodes | None = None,
        workers: int = 1,
    ) -> np.ndarray:
        """:func:`matching.blocking.candidate_codes` of the stored offers."""
        keys, members = self.key_arrays(config, workers)
        return codes_from_keys(keys, members, self.title_rank(), config, dirty=dirty, vetoes=vetoes)

    def veto_codes(self, config: MatchConfig) -> VetoCodes:
        return VetoCodes.of([dict(r.attrs) for r in self.rows], [r.gtin for r in self.rows], config)


_RECORDS: Sequence[OfferRecord] = ()
_STORE: tuple[PreparedStore, MatchConfig] | None = None


def _map(store: PreparedStore, config: MatchConfig, task, items: list, workers: int) -> list:
    """``task`` over ``items`` on ``workers`` forked processes that share ``store``."""
    global _STORE
    _STORE = (store, config)
    try:
        if workers <= 1 or len(items) <= 1:
            return [task(item) for item in items]
        with ProcessPoolExecutor(
            min(workers, len(items)), mp_context=multiprocessing.get_context("fork")
        ) as pool:
            return list(pool.map(task, items))
    finally:
        _STORE = None


def _hash_rows(rows: list[int]) -> list[bytes]:
    assert _STORE is not None
    store, config = _STORE
    vocab = store.vocab
    out = []
    for i in rows:
        r = store.rows[i]
        found = keys_of(r.gtin, r.codes, r.norm.split(), r.id_brand, r.id_numbers, r.id_attrs, vocab, config)
        out.append(np.array([stable_hash(k) for k in found], dtype=np.int64).tobytes())
    return out


def _prepare(records: Sequence[OfferRecord], cjk: str, workers: int) -> list[Row]:
    global _RECORDS
    bounds = [(s, min(s + PREPARE_CHUNK, len(records)), cjk) for s in range(0, len(records), PREPARE_CHUNK)]
    if workers <= 1 or len(bounds) <= 1:
        return prepare_rows(records, cjk)
    _RECORDS = records
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return [row for part in pool.map(_prepare_chunk, bounds) for row in part]
    finally:
        _RECORDS = ()


def _prepare_chunk(bounds: tuple[int, int, str]) -> list[Row]:
    start, stop, cjk = bounds
    return prepare_rows(_RECORDS[start:stop], cjk)
