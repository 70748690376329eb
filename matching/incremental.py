"""Incremental matching: only offers that are new or whose matching fields changed are blocked and scored;
only the products they touch are regrouped.

The last match leaves, per offer, a fingerprint of its matching fields, its product, and the accepted pairs
(edges). A run then: scores the candidate pairs that have a changed offer on one side (against every
offer, unchanged ones included, so a changed offer can join any product); keeps the old edges between
unchanged offers; and regroups, with the same union-find as a full run, the connected components of the
edges (and confirm overrides) that hold a changed offer, a member of a product that lost or changed a
member, or an offer whose override changed. Within a component the grouping depends on that component
alone (:func:`matching.grouping.group_edges`), so with the same edges this is what a full regroup gives.
What can still differ from a full regroup: pairs between two unchanged offers are not re-blocked or
re-scored, so the rarity of tokens (IDF, rare-token keys) and sorted-neighbourhood windows are those of
their last scoring, and a changed price alone does not count as a change (a weak signal).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .arrays import sorted_unique
from .collector import gc_paused
from .config import MatchConfig
from .grouping import Edges, Group
from .overrides import Overrides
from .parallel import METHODS, group_store
from .pipeline import PairDecision, review_of, score_candidates, vetoes_are_final
from .records import OfferRecord
from .store import PreparedStore


@dataclass
class PreviousMatch:
    """What the last match left (by offer key)."""

    fingerprints: Mapping[str, int]
    """Offer key → fingerprint of its matching fields (only :func:`match_incremental` reads it)."""
    products: Mapping[str, str]
    """Offer key → product id (read only when ``members_of`` is not given)."""
    edges: tuple[Sequence[str], Sequence[str], Sequence[float] | np.ndarray, Sequence[str]] | Edges
    """Accepted pairs: keys a, keys b, scores, methods; or already as rows of the offers matched now (pairs
    with a gone side left out)."""
    review: Sequence[PairDecision] = ()
    members_of: Callable[[Sequence[str]], Iterable[str]] | None = None
    """Keys of every offer in the products the given offers belonged to (default: from ``products``)."""

    def members(self, keys: Sequence[str]) -> Iterable[str]:
        if self.members_of is not None:
            return self.members_of(keys)
        touched = {self.products[k] for k in keys if k in self.products}
        return [k for k, product in self.products.items() if product in touched]


@dataclass
class IncrementalResult:
    groups: list[Group]
    """The regrouped products only (every member of a product that changed, joined or split)."""
    removed: list[str]
    """Offers matched last time that are gone now."""
    changed: list[str]
    """New offers and offers whose matching fields changed."""
    edges: Edges
    """All accepted pairs now (indices into the records sorted by key)."""
    new_edges: Edges
    """The accepted pairs scored in this run (each has a changed side)."""
    review: list[PairDecision]
    stats: dict[str, float] = field(default_factory=dict)


def match_incremental(
    records: Sequence[OfferRecord],
    fingerprints: Sequence[int],
    previous: PreviousMatch,
    config: MatchConfig,
    overrides: Overrides | None = None,
    changed_overrides: frozenset[str] = frozenset(),
    workers: int = 1,
) -> IncrementalResult:
    """Regroup what changed since ``previous``. ``fingerprints``: one per record (a hash of its matching
    fields; a record whose fingerprint differs from ``previous`` is changed); ``changed_overrides``: offer
    keys whose override was decided since the last match."""
    order = sorted(range(len(records)), key=lambda k: records[k].key)
    store = PreparedStore.prepare(records, config.cjk_tokens, workers)
    changed = np.array(
        [previous.fingerprints.get(records[k].key) != fingerprints[k] for k in order], dtype=bool
    )
    index = set(store.keys)
    removed = [k for k in previous.fingerprints if k not in index]
    return match_changed(store, changed, removed, previous, config, overrides, changed_overrides, workers)


@gc_paused()  # as match_store
def match_changed(
    store: PreparedStore,
    changed: np.ndarray,
    removed: Sequence[str],
    previous: PreviousMatch,
    config: MatchConfig,
    overrides: Overrides | None = None,
    changed_overrides: frozenset[str] = frozenset(),
    workers: int = 1,
) -> IncrementalResult:
    """:func:`match_incremental` on prepared offers (rows of unchanged offers may be those kept from the
    last match): ``changed`` marks the new and changed offers, ``removed`` the keys gone since."""
    overrides = overrides or Overrides()
    n = len(store)
    stats: dict[str, float] = {"offers": n, "changed": int(changed.sum()), "removed": len(removed)}
    codes = store.candidate_codes(config, dirty=changed, vetoes=vetoes_are_final(config), workers=workers)
    stats["candidate_pairs"] = len(codes)
    store.need(sorted_unique(np.concatenate(np.divmod(codes, n))))
    scored = score_candidates(store, config, overrides, codes, workers, stats)
    edges = Edges.concat([_kept_edges(previous, store.keys, changed), scored.edges])
    rows, inside = _dirty_rows(store.keys, changed, removed, previous, overrides, changed_overrides, edges)
    store.need(rows)
    within = Edges(edges.i[inside], edges.j[inside], edges.score[inside], edges.method[inside])
    groups, blocked = group_store(store, config, overrides, within, rows, workers)
    dirty = np.zeros(n, dtype=bool)
    dirty[rows] = True
    review = review_of(store, config, scored.review + blocked)
    for d in previous.review:
        a, b = _row_of(store.keys, d.key_a), _row_of(store.keys, d.key_b)
        if a >= 0 and b >= 0 and not (dirty[a] or dirty[b]):
            review.append(d)
    review.sort(key=lambda d: (abs(d.score - config.threshold), d.key_a, d.key_b))
    stats.update(accepted_pairs=len(edges), regrouped_offers=len(rows), groups=len(groups))
    changed_keys = [store.keys[k] for k in np.flatnonzero(changed).tolist()]
    return IncrementalResult(
        groups, list(removed), changed_keys, edges, scored.edges, review[: config.review_limit], stats
    )


def _row_of(keys: Sequence[str], key: str) -> int:
    """The position of ``key`` in the sorted ``keys`` (-1: not there)."""
    at = bisect_left(keys, key)
    return at if at < len(keys) and keys[at] == key else -1


def _rows_of(keys: Sequence[str], wanted: Iterable[str]) -> list[int]:
    return [i for i in (_row_of(keys, k) for k in wanted) if i >= 0]


def _kept_edges(previous: PreviousMatch, keys: Sequence[str], changed: np.ndarray) -> Edges:
    """The last match's edges between two offers still there and unchanged, as indices."""
    if isinstance(previous.edges, Edges):
        e = previous.edges
        keep = ~(changed[e.i] | changed[e.j])
        lo, hi = np.minimum(e.i, e.j), np.maximum(e.i, e.j)
        return Edges(lo[keep], hi[keep], e.score[keep], e.method[keep])
    index = {k: i for i, k in enumerate(keys)}
    keys_a, keys_b, scores, methods = previous.edges
    ia = np.array([index.get(k, -1) for k in keys_a], dtype=np.int64)
    ib = np.array([index.get(k, -1) for k in keys_b], dtype=np.int64)
    method = np.array([METHODS.index(m) if m in METHODS else 0 for m in methods], dtype=np.int8)
    keep = (ia >= 0) & (ib >= 0)
    keep[keep] &= ~(changed[ia[keep]] | changed[ib[keep]])
    lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
    return Edges(lo[keep], hi[keep], np.asarray(scores, dtype=np.float64)[keep], method[keep])


def _dirty_rows(
    keys: Sequence[str],
    changed: np.ndarray,
    removed: Sequence[str],
    previous: PreviousMatch,
    overrides: Overrides,
    changed_overrides: frozenset[str],
    edges: Edges,
) -> tuple[np.ndarray, np.ndarray]:
    """Every offer of a connected component (edges + confirm overrides) that holds a changed offer, an
    offer whose override changed, or a member of a product that lost or changed a member; and which of
    ``edges`` lie in those components (the only ones their grouping reads)."""
    n = len(keys)
    seeds = changed.copy()
    gone_or_changed = [*removed, *(keys[k] for k in np.flatnonzero(changed).tolist())]
    seeds[_rows_of(keys, changed_overrides)] = True
    seeds[_rows_of(keys, previous.members(gone_or_changed))] = True
    confirm = [(_row_of(keys, a), _row_of(keys, b)) for a, b in overrides.confirm]
    confirm = [(a, b) for a, b in confirm if a >= 0 and b >= 0]
    ci = np.array([a for a, _ in confirm], dtype=np.int64)
    cj = np.array([b for _, b in confirm], dtype=np.int64)
    labels = _labels(n, np.concatenate([edges.i, ci]), np.concatenate([edges.j, cj]))
    hit = np.zeros(n, dtype=bool)
    hit[labels[seeds]] = True
    return np.flatnonzero(hit[labels]), hit[labels[edges.i]]


def _labels(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """A connected-component label of each of ``n`` nodes (any numbering), given edges ``i``–``j``: scipy's
    graph search — several times faster than :func:`components` on millions of edges, whose labels
    (smallest member) a full match needs but this does not."""
    graph = coo_matrix((np.ones(len(i), dtype=np.float32), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]
