"""Stages 4 and 5 over many offers: score candidate pairs in chunks, and group connected components, on
``workers`` processes.

The prepared offers (a :class:`~matching.store.PreparedStore`) are set once in this module and the worker
processes forked afterwards, so they share them; a task gets only bounds and returns arrays. A task builds
the ``Prepared``/``Identity`` objects of just the rows it touches. Scoring: each chunk of candidate pairs
(int64 codes ``i * n + j``) is scored with :func:`matching.scoring.score_batch`; a pair at or above the
threshold that no identity veto stops is an accepted edge; pairs near the threshold, and pairs scored a
match but stopped by an identity veto, are review candidates. Grouping: the accepted edges (and confirm
overrides) fall apart into connected components, each grouped on its own by
:func:`matching.grouping.group_edges` — the same groups as one union-find over everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from .arrays import sorted_unique
from .config import MatchConfig
from .features import veto_reasons
from .forking import fork_map
from .grouping import EDGE_METHODS, Edges, Group, Review, group_edges
from .identity import Identity
from .identity_vetoes import IdentityRule
from .overrides import Overrides
from .prepare import Prepared
from .scoring import method_of, score_batch
from .store import PreparedStore

METHODS = EDGE_METHODS
__all__ = ["METHODS", "Scored", "components", "group_store", "score_codes"]
CHUNK = 50_000
"""Candidate pairs per scoring task (taken in title order, so a task touches few distinct offers)."""
GROUP_BATCH = 20_000
"""Offers (whole components) per grouping task."""
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Scored:
    edges: Edges
    review: list[Review] = field(default_factory=list)
    scored_pairs: int = 0
    identity_vetoes: int = 0


@dataclass
class _Job:
    store: PreparedStore
    config: MatchConfig
    overrides: Overrides
    arrays: dict[str, np.ndarray]


_JOB: _Job | None = None
"""What the (forked) workers read: set before the pool starts."""


def _run(job: _Job, task: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    global _JOB
    _JOB = job
    try:
        return fork_map(task, items, workers)
    finally:
        _JOB = None


def _job() -> _Job:
    assert _JOB is not None, "set by _run before any task"
    return _JOB


def score_codes(
    store: PreparedStore, config: MatchConfig, overrides: Overrides, codes: np.ndarray, workers: int = 1
) -> Scored:
    """Score the candidate pairs ``codes`` (sorted int64 ``i * n + j``) on ``workers`` processes."""
    store.count_vocabulary(workers)  # once, before the workers fork
    n = len(store)
    codes = codes[store.title_order(codes // n)]
    bounds = [(s, min(s + CHUNK, len(codes))) for s in range(0, len(codes), CHUNK)]
    parts = _run(_Job(store, config, overrides, {"codes": codes}), _score_chunk, bounds, workers)
    review = [r for part in parts for r in part.review]
    return Scored(
        Edges.concat([p.edges for p in parts]),
        most_uncertain(review, config),
        sum(p.scored_pairs for p in parts),
        sum(p.identity_vetoes for p in parts),
    )


def most_uncertain(review: list[Review], config: MatchConfig) -> list[Review]:
    review.sort(key=lambda r: (abs(r.score - config.threshold), r.i, r.j))
    return review[: config.review_limit]


def _score_chunk(bounds: tuple[int, int]) -> Scored:
    job = _job()
    n = len(job.store)
    part = job.arrays["codes"][bounds[0] : bounds[1]]
    rows, local = np.unique(np.concatenate([part // n, part % n]), return_inverse=True)
    prepared, ids = job.store.objects(rows.tolist())
    scores = score_batch(prepared, local[: len(part)], local[len(part) :], job.store.vocab, job.config)
    out = Scored(Edges.empty(), scored_pairs=len(part))
    kept: list[tuple[int, int, float, int]] = []
    low = job.config.threshold - job.config.review_margin
    rule = job.config.identity_rule()  # the checks chosen with the pair model
    for k in np.flatnonzero(scores.probs >= low).tolist():  # the others are neither edges nor review
        i, j = int(scores.left[k]), int(scores.right[k])
        fired = (
            veto_reasons(prepared[i], prepared[j], job.config.vetoes, job.config.gtin_decides)
            if scores.vetoed[k]
            else []
        )
        p = float(scores.probs[k])
        kept.extend(_decide(job.config, rule, job.overrides, prepared, ids, i, j, p, fired, out))
    if kept:
        ei, ej, ep, em = (np.array(x) for x in zip(*kept, strict=True))
        out.edges = Edges(rows[ei], rows[ej], ep.astype(np.float64), em.astype(np.int8))
    row_of = rows.tolist()
    out.review = [Review(row_of[r.i], row_of[r.j], r.score, r.reasons) for r in out.review]
    out.review = most_uncertain(out.review, job.config)
    return out


def _decide(
    config: MatchConfig,
    rule: IdentityRule,
    overrides: Overrides,
    prepared: Sequence[Prepared],
    ids: Sequence[Identity],
    i: int,
    j: int,
    p: float,
    fired: list[str],
    out: Scored,
) -> Iterator[tuple[int, int, float, int]]:
    high = config.threshold + config.review_margin
    a, b = prepared[i], prepared[j]
    undecided = overrides.decision(a.key, b.key) is None
    why = rule.veto(ids[i], ids[j], p)
    if why:
        out.identity_vetoes += 1
        if undecided:
            out.review.append(Review(i, j, round(p, 4), [f"score {p:.3f} but not merged: {why}"]))
        return
    if p >= config.threshold:
        yield i, j, p, METHODS.index(method_of(a, b))
    if p < high and undecided:
        out.review.append(
            Review(i, j, round(p, 4), [f"score {p:.3f} near threshold {config.threshold}", *fired])
        )


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest member index) of each of ``n`` nodes, given edges ``i``–``j``:
    label propagation with pointer jumping, vectorised."""
    labels = np.arange(n, dtype=np.int64)
    if not len(i):
        return labels
    while True:
        low = np.minimum(labels[i], labels[j])
        before = labels.copy()
        np.minimum.at(labels, i, low)
        np.minimum.at(labels, j, low)
        while True:  # pointer jumping: a label points at a node whose label may be smaller
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


def group_store(
    store: PreparedStore,
    config: MatchConfig,
    overrides: Overrides,
    edges: Edges,
    rows: np.ndarray | None = None,
    workers: int = 1,
) -> tuple[list[Group], list[Review]]:
    """The groups of ``rows`` (default: every offer; they must be whole components), each connected
    component grouped on its own, on ``workers`` processes; and the merges a veto refused."""
    n = len(store)
    index = {k: i for i, k in enumerate(store.keys)} if overrides.confirm or overrides.split else {}
    confirm = [(index[a], index[b]) for a, b in overrides.confirm if a in index and b in index]
    ci, cj = np.array([a for a, _ in confirm], np.int64), np.array([b for _, b in confirm], np.int64)
    labels = components(n, np.concatenate([edges.i, ci]), np.concatenate([edges.j, cj]))
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    size = np.bincount(labels[rows], minlength=n)
    single = rows[size[labels[rows]] == 1]
    groups = [Group([store.keys[i]], 1.0, {store.keys[i]: "single"}) for i in single.tolist()]
    multi = rows[size[labels[rows]] > 1]
    multi = multi[np.argsort(labels[multi], kind="stable")]
    edge_label = labels[edges.i]
    keep = np.isin(edge_label, labels[multi])
    order = np.argsort(edge_label[keep], kind="stable")
    arrays = {"rows": multi, "row_label": labels[multi]}
    arrays.update({f: getattr(edges, f)[keep][order] for f in ("i", "j", "score", "method")})
    arrays["edge_label"] = edge_label[keep][order]
    batches = _batches(arrays["row_label"])
    parts = _run(_Job(store, config, overrides, arrays), _group_batch, batches, workers)
    review: list[Review] = []
    for got, blocked in parts:
        groups.extend(got)
        review.extend(blocked)
    groups.sort(key=lambda g: g.members[0])
    return groups, review


def _batches(row_label: np.ndarray) -> list[tuple[int, int]]:
    """Slices of the (label-sorted) rows holding whole components, about ``GROUP_BATCH`` rows each."""
    cuts = [*np.flatnonzero(np.r_[True, row_label[1:] != row_label[:-1]]).tolist(), len(row_label)]
    out, start = [], 0
    for cut in cuts[1:]:
        if cut - start >= GROUP_BATCH or cut == len(row_label):
            out.append((start, cut))
            start = cut
    return [b for b in out if b[1] > b[0]]


def _group_batch(bounds: tuple[int, int]) -> tuple[list[Group], list[Review]]:
    job = _job()
    a = job.arrays
    rows = np.sort(a["rows"][bounds[0] : bounds[1]])
    labels = sorted_unique(a["row_label"][bounds[0] : bounds[1]])
    lo = int(np.searchsorted(a["edge_label"], labels[0], side="left"))
    hi = int(np.searchsorted(a["edge_label"], labels[-1], side="right"))
    local = Edges(
        np.searchsorted(rows, a["i"][lo:hi]),
        np.searchsorted(rows, a["j"][lo:hi]),
        a["score"][lo:hi],
        a["method"][lo:hi],
    )
    row_of = rows.tolist()
    members, ids = job.store.members(row_of)
    groups, blocked = group_edges(members, ids, job.config, job.overrides, local)
    review = [Review(row_of[r.i], row_of[r.j], r.score, r.reasons) for r in blocked]
    return groups, most_uncertain(review, job.config)  # rows are in key order: the global top stays
