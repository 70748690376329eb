"""Pair features that read the other offer's description: is what one title says found in the other offer
at all — in its title or in its description?

A shop often writes the part number, the series or the capacity in the description only (``Samsung 970
EVO 500GB`` against ``Samsung MZ-V7E500 …`` whose description says ``970 EVO``). For each title token of
one side that the other title lacks, the other's description (``Prepared.desc``: folded, letters and digits
only) is searched for it; the share of the side's title (weighted by rarity) found, and of its number
tokens, are the features. A side whose partner has no description gives ``nan`` (the trees route it).

Vectorised like :mod:`matching.features`: the (pair, token) rows come from the record table's CSR arrays;
only the tokens the other title lacks, of two characters or more, are searched — one ``str.__contains__``
each, in one list comprehension over the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from .features import RecordTable
    from .prepare import Prepared

DESC_FEATURES = ("desc_found_max", "desc_found_min", "desc_num_min")
"""Appended to ``features.FEATURES``: the larger and smaller share (by rarity) of one title's tokens found in
the other offer (title or description), and the smaller share of its number tokens found."""
MIN_LENGTH = 2
"""Shorter tokens (``a``, ``x``, ``3``) are found in any description: not searched, not counted."""


class DescTable:
    """Per record its description, per token id its text and whether it is counted (built with the table)."""

    def __init__(self, prepared: Sequence[Prepared], names: Sequence[str]) -> None:
        import numpy as np

        self.desc = np.empty(len(prepared), dtype=object)
        self.desc[:] = [p.desc for p in prepared]
        self.has = np.fromiter((bool(p.desc) for p in prepared), bool, len(prepared))
        self.names = np.empty(len(names) + 1, dtype=object)
        self.names[:] = [*names, ""]
        self.counted = np.array([len(x) >= MIN_LENGTH for x in names] + [False], dtype=bool)


def _shares(t: RecordTable, rows: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each pair, the rarity-weighted share of ``rows``' counted title tokens found in ``other`` (title or
    description) and the share of its number tokens found; ``nan`` where ``other`` has no description."""
    import numpy as np

    d = t.desc
    n = len(rows)
    share, number_share = np.full(n, np.nan), np.full(n, np.nan)
    searched = np.flatnonzero(d.has[other])  # only pairs whose partner has a description
    if not len(searched):
        return share, number_share
    pair, tid, _ = t.tok.expand(rows[searched])
    partner = other[searched][pair]
    found = t.tok.has(partner, tid)
    counted = d.counted[tid]
    search = np.flatnonzero(counted & ~found)
    if len(search):
        names, texts = d.names[tid[search]].tolist(), d.desc[partner[search]].tolist()
        found[search] = [name in text for name, text in zip(names, texts, strict=True)]
    m = len(searched)
    weight = np.where(counted, t.idf[tid], 0.0)
    numbers = counted & t.digit[tid]
    with np.errstate(invalid="ignore", divide="ignore"):
        share[searched] = np.bincount(pair, weight * found, m) / np.bincount(pair, weight, m)
        number_share[searched] = np.bincount(pair, numbers & found, m) / np.bincount(pair, numbers, m)
    return share, number_share


def desc_features(t: RecordTable, left: np.ndarray, right: np.ndarray) -> list[np.ndarray]:
    """``DESC_FEATURES`` for each pair ``(left[k], right[k])`` (``nan`` where no side can be searched)."""
    import numpy as np

    share_a, number_a = _shares(t, left, right)
    share_b, number_b = _shares(t, right, left)
    return [np.fmax(share_a, share_b), np.fmin(share_a, share_b), np.fmin(number_a, number_b)]
