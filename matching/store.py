"""The prepared offers of one match as columns: keys, marketplaces and compact rows (:mod:`matching.columns`),
with what the stages need of all of them at once — the vocabulary, the blocking keys, the veto codes, the
title order — and the ``Prepared``/``Identity`` objects of only the rows a chunk of work touches."""

from __future__ import annotations

import multiprocessing
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


class PreparedStore:
    """Prepared offers sorted by key (index = position)."""

    def __init__(self, keys: list[str], markets: list[str], rows: list[Row]) -> None:
        self.keys, self.markets, self.rows = keys, markets, rows
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

    def key_arrays(self, config: MatchConfig) -> tuple[np.ndarray, np.ndarray]:
        """(key hash, row) per blocking key of each offer (see :func:`matching.blocking.key_arrays`)."""
        vocab = self.vocab
        keys: list[int] = []
        members: list[int] = []
        for i, r in enumerate(self.rows):
            found = keys_of(
                r.gtin, r.codes, r.norm.split(), r.id_brand, r.id_numbers, r.id_attrs, vocab, config
            )
            keys.extend(map(hash, found))
            members.extend([i] * len(found))
        return np.array(keys, dtype=np.int64), np.array(members, dtype=np.int64)

    def title_rank(self) -> np.ndarray:
        rank = np.empty(len(self.rows), dtype=np.int64)
        order = sorted(range(len(self.rows)), key=lambda i: self.rows[i].norm)
        rank[np.array(order, dtype=np.int64)] = np.arange(len(self.rows))
        return rank

    def candidate_codes(
        self, config: MatchConfig, dirty: np.ndarray | None = None, vetoes: VetoCodes | None = None
    ) -> np.ndarray:
        """:func:`matching.blocking.candidate_codes` of the stored offers."""
        keys, members = self.key_arrays(config)
        return codes_from_keys(keys, members, self.title_rank(), config, dirty=dirty, vetoes=vetoes)

    def veto_codes(self, config: MatchConfig) -> VetoCodes:
        return VetoCodes.of([dict(r.attrs) for r in self.rows], [r.gtin for r in self.rows], config)


_RECORDS: Sequence[OfferRecord] = ()


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
