"""Array helpers the matcher's hot paths share."""

from __future__ import annotations

from itertools import pairwise

import numpy as np


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: numpy 2.4's default for wide int64 values (pair codes ``i * n + j``,
    key hashes) goes through a hash table and is tens of times slower on millions of values."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


class SortedUnion:
    """The sorted distinct values of many sorted arrays of int64 in ``[0, limit)`` — the candidate pairs
    blocking finds, offset by offset, many of them found more than once.

    The values are kept apart in ``parts`` ranges; a range deduplicates its pending arrays once they outgrow
    what it holds (amortised: O(v log v) work in all). Deduplicating everything at once made temporaries of
    about four times the distinct values at the end; here only one range's are made at a time, and
    :meth:`result` frees each range as it copies it out."""

    def __init__(self, limit: int, parts: int = 16, dedup_at: int = 20_000_000) -> None:
        step = max(1, -(-limit // parts))
        self._bounds = np.arange(step, limit, step, dtype=np.int64)
        self._merged: list[np.ndarray] = [np.zeros(0, np.int64) for _ in range(len(self._bounds) + 1)]
        self._pending: list[list[np.ndarray]] = [[] for _ in self._merged]
        self._dedup_at = max(1, dedup_at // len(self._merged))

    def add(self, values: np.ndarray) -> None:
        """Add sorted ``values``."""
        cuts = [0, *np.searchsorted(values, self._bounds).tolist(), len(values)]
        for part, (start, stop) in enumerate(pairwise(cuts)):
            if stop > start:
                pending = self._pending[part]
                pending.append(values[start:stop].copy())  # a view would keep all of ``values`` alive
                if sum(len(p) for p in pending) > max(self._dedup_at, len(self._merged[part])):
                    self._merge(part)

    def result(self) -> np.ndarray:
        """Every distinct value added, sorted (the union is emptied)."""
        for part in range(len(self._merged)):
            self._merge(part)
        out = np.empty(sum(len(m) for m in self._merged), dtype=np.int64)
        at = 0
        for part, merged in enumerate(self._merged):
            out[at : at + len(merged)] = merged
            at += len(merged)
            self._merged[part] = merged[:0]
        return out

    def _merge(self, part: int) -> None:
        if self._pending[part]:
            self._merged[part] = sorted_unique(np.concatenate([self._merged[part], *self._pending[part]]))
            self._pending[part] = []
