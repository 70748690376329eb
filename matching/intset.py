"""A set of non-negative int64 keys with membership tests for whole arrays of queries: an open-addressing hash
table (linear probing) in numpy. A query costs a hash and one or two array reads, against ≈ 17 reads of a binary
search (``np.searchsorted``) over tens of thousands of keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_EMPTY = -1
_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing: the top bits of key · 2⁶⁴/φ


class IntSet:
    """The keys (distinct, ≥ 0) in a table of at least four slots per key."""

    def __init__(self, keys: np.ndarray) -> None:
        import numpy as np

        self.bits = max(4, int(len(keys) * 4).bit_length())
        self.mask = (1 << self.bits) - 1
        self.table = np.full(1 << self.bits, _EMPTY, dtype=np.int64)
        pending = np.asarray(keys, dtype=np.int64)
        slot = self._home(pending)
        while len(pending):
            free = self.table[slot] == _EMPTY
            self.table[slot[free]] = pending[free]  # of keys asking for one slot, one is written
            placed = self.table[slot] == pending
            pending, slot = pending[~placed], (slot[~placed] + 1) & self.mask  # the others probe on

    def _home(self, keys: np.ndarray) -> np.ndarray:
        import numpy as np

        hashed = keys.astype(np.uint64) * np.uint64(_GOLDEN)
        return (hashed >> np.uint64(64 - self.bits)).astype(np.int64)

    def has(self, queries: np.ndarray) -> np.ndarray:
        """Whether each query is one of the keys (a negative query never is)."""
        import numpy as np

        queries = np.asarray(queries, dtype=np.int64)
        slot = self._home(queries)
        seen = self.table[slot]
        out = seen == queries
        # an occupied slot of another key: the key may be further on (it found this one taken)
        todo = np.flatnonzero(~out & (seen != _EMPTY))
        slot = (slot[todo] + 1) & self.mask
        while len(todo):
            seen = self.table[slot]
            hit = seen == queries[todo]
            out[todo[hit]] = True
            going = ~hit & (seen != _EMPTY)
            todo, slot = todo[going], (slot[going] + 1) & self.mask
        return out & (queries >= 0)
