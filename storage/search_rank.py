"""Finding, ranking and paging products over a ``storage.search.SearchIndex`` — the one search that the API
(over a snapshot) and the CLI (over the working database) both run.

Pages are cut by keyset: after the last item's sort value and pkey, so a page never repeats or skips an
item however the pages before it were cut. Sorts: ``relevance`` (BM25, identifier hits first), ``price``
(lowest landed price first), ``saving`` (biggest difference between the dearest and cheapest marketplace
first), ``id`` (stable product order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storage.search import (
    BRAND,
    CATEGORY,
    GTIN,
    ID_BONUS,
    SearchIndex,
    Synonyms,
    alternatives_hits,
    filter_ranges,
    gtin_candidates,
    intersect,
    parse_query,
    union,
)

SORTS = ("relevance", "price", "saving", "id")


@dataclass(frozen=True)
class Criteria:
    text: str | None = None
    brand: str | None = None
    category: str | None = None
    gtin: str | None = None


@dataclass(frozen=True)
class Found:
    hits: np.ndarray | None
    """Sorted pkeys; ``None``: every product (no text, no filter)."""
    scores: np.ndarray | None
    """Relevance per hit (aligned with ``hits``) when there was a text."""

    def total(self, index: SearchIndex) -> int:
        return index.count if self.hits is None else len(self.hits)


def find(index: SearchIndex, criteria: Criteria, synonyms: Synonyms | None = None) -> Found:
    """The products matching the text (every term, or an identifier) and every filter."""
    filters: list[np.ndarray] = []
    for kind, value in ((BRAND, criteria.brand), (CATEGORY, criteria.category)):
        if value and value.strip():
            filters.append(alternatives_hits(index, filter_ranges(kind, value, synonyms)))
    if criteria.gtin is not None:
        codes = gtin_candidates(criteria.gtin)
        filters.append(union([index.postings(GTIN + c, None) for c in codes]) if codes else _none())
    if not (criteria.text and criteria.text.strip()):
        return Found(intersect(filters) if filters else None, None)
    query = parse_query(criteria.text, synonyms)
    by_words = intersect([alternatives_hits(index, alts) for alts in query.terms]) if query.terms else _none()
    by_code = (
        union([index.postings(token, None) for token in query.identifiers]) if query.identifiers else _none()
    )
    hits = intersect([union([by_words, by_code]), *filters])
    ranges = [r for alts in query.terms for alt in alts for r in alt]
    scores = index.bm25(hits, ranges)
    if len(by_code):
        pos = np.minimum(np.searchsorted(by_code, hits), len(by_code) - 1)
        scores = scores + np.where(by_code[pos] == hits, ID_BONUS, 0.0)
    return Found(hits, scores)


def _none() -> np.ndarray:
    return np.zeros(0, dtype=np.int32)


def select(
    index: SearchIndex, found: Found, sort: str, after: tuple[float, int] | None, limit: int
) -> tuple[list[int], float | None]:
    """The page: ``limit`` pkeys in (sort value, pkey) order after ``after`` = (value, pkey), and, when
    more follow, the last one's sort value. Hits are ranked by a partial sort (only the page is ordered);
    every product (no text, no filter) is walked in a precomputed order by binary search."""
    if found.hits is None:
        return _walk(index, sort, after, limit)
    keys = found.hits
    primary = _primary(index, found, keys, sort)
    if after is not None:
        value, boundary = after
        keep = (primary > value) | ((primary == value) & (keys > boundary))
        keys, primary = keys[keep], primary[keep]
    n = limit + 1
    if len(keys) > n:  # everything up to the n-th smallest value (ties included), then order only those
        kth = np.partition(primary, n - 1)[n - 1]
        near = primary <= kth
        keys, primary = keys[near], primary[near]
    order = np.lexsort((keys, primary))[:n]
    return _cut([int(k) for k in keys[order]], primary[order], limit)


def _walk(
    index: SearchIndex, sort: str, after: tuple[float, int] | None, limit: int
) -> tuple[list[int], float | None]:
    if sort in ("price", "saving"):
        keys, primary = index.order(sort)
        start = 0
        if after is not None:  # (primary, key) pairs are sorted: two binary searches find the place
            value, boundary = after
            low, high = np.searchsorted(primary, value, "left"), np.searchsorted(primary, value, "right")
            start = int(low) + int(np.searchsorted(keys[low:high], boundary, "right"))
        window = slice(start, start + limit + 1)
        return _cut([int(k) for k in keys[window]], primary[window], limit)
    first = (after[1] if after is not None else 0) + 1
    ids = list(range(first, min(first + limit, index.count) + 1))
    return _cut(ids, np.zeros(len(ids)), limit)


def _cut(keys: list[int], primary: np.ndarray, limit: int) -> tuple[list[int], float | None]:
    return keys[:limit], (float(primary[limit - 1]) if len(keys) > limit else None)


def _primary(index: SearchIndex, found: Found, keys: np.ndarray, sort: str) -> np.ndarray:
    if sort == "price":
        return index.cents[keys].astype(np.float64)
    if sort == "saving":
        return -index.saving[keys].astype(np.float64)
    if sort == "relevance" and found.scores is not None:
        return -found.scores
    return np.zeros(len(keys))
