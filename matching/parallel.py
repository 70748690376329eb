"""Stage 4 run over many candidate pairs: score them in chunks, on ``workers`` processes.

The prepared records, identities and vocabulary are set once in this module and the worker processes are
forked afterwards, so they share them (nothing is pickled but a chunk's bounds and its results). Each chunk
of candidate pairs (int64 codes ``i * n + j``) is scored with :func:`matching.scoring.score_pairs`; a pair
at or above the threshold that no identity veto stops is an accepted edge, returned as arrays; pairs near
the threshold, and pairs scored a match but stopped by an identity veto, are review candidates.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .config import MatchConfig
from .identity import Identity
from .identity import conflict as identity_conflict
from .overrides import Overrides
from .prepare import Prepared, Vocabulary
from .scoring import method_of, score_pairs

METHODS: tuple[str, ...] = ("title", "model", "gtin")
"""Edge methods by code (``Edges.method``)."""
CHUNK = 50_000
"""Candidate pairs per task: small enough that a task's results stay small, large enough for rapidfuzz."""


@dataclass
class Edges:
    """Accepted pairs as parallel arrays (indices into the prepared records)."""

    i: np.ndarray
    j: np.ndarray
    score: np.ndarray
    method: np.ndarray
    """Index into :data:`METHODS`."""

    @classmethod
    def empty(cls) -> Edges:
        return cls(
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int8)
        )

    @classmethod
    def concat(cls, parts: Sequence[Edges]) -> Edges:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("i", "j", "score", "method")))

    def __len__(self) -> int:
        return len(self.i)

    def select(self, mask: np.ndarray) -> Edges:
        return Edges(self.i[mask], self.j[mask], self.score[mask], self.method[mask])


@dataclass
class Review:
    """A review candidate: offer indices, rounded score, reasons."""

    i: int
    j: int
    score: float
    reasons: list[str]


@dataclass
class Scored:
    edges: Edges
    review: list[Review] = field(default_factory=list)
    scored_pairs: int = 0
    identity_vetoes: int = 0


@dataclass
class _Job:
    prepared: Sequence[Prepared]
    vocab: Vocabulary
    ids: Sequence[Identity]
    config: MatchConfig
    overrides: Overrides
    codes: np.ndarray


_JOB: _Job | None = None
"""The job the (forked) workers read: set before the pool starts."""


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def score_codes(
    prepared: Sequence[Prepared],
    vocab: Vocabulary,
    ids: Sequence[Identity],
    config: MatchConfig,
    overrides: Overrides,
    codes: np.ndarray,
    workers: int = 1,
) -> Scored:
    """Score the candidate pairs ``codes`` (sorted int64 ``i * n + j``) on ``workers`` processes."""
    global _JOB
    _JOB = _Job(prepared, vocab, ids, config, overrides, codes)
    bounds = [(s, min(s + CHUNK, len(codes))) for s in range(0, len(codes), CHUNK)]
    try:
        if workers <= 1 or len(bounds) <= 1:
            parts = [_score_chunk(b) for b in bounds]
        else:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(min(workers, len(bounds)), mp_context=context) as pool:
                parts = list(pool.map(_score_chunk, bounds, chunksize=1))
    finally:
        _JOB = None
    review = [r for part in parts for r in part.review]
    return Scored(
        Edges.concat([p.edges for p in parts]),
        _most_uncertain(review, config),
        sum(p.scored_pairs for p in parts),
        sum(p.identity_vetoes for p in parts),
    )


def _most_uncertain(review: list[Review], config: MatchConfig) -> list[Review]:
    review.sort(key=lambda r: (abs(r.score - config.threshold), r.i, r.j))
    return review[: config.review_limit]


def _score_chunk(bounds: tuple[int, int]) -> Scored:
    job = _JOB
    assert job is not None, "score_codes sets the job before scoring"
    n = len(job.prepared)
    part = job.codes[bounds[0] : bounds[1]]
    pairs = list(zip((part // n).tolist(), (part % n).tolist(), strict=True))
    probs, vetoes = score_pairs(job.prepared, pairs, job.vocab, job.config)
    out = Scored(Edges.empty(), scored_pairs=len(pairs))
    kept: list[tuple[int, int, float, int]] = []
    for (i, j), p, fired in zip(pairs, probs, vetoes, strict=True):
        kept.extend(_decide(job, i, j, p, fired, out))
    if kept:
        ei, ej, ep, em = zip(*kept, strict=True)
        out.edges = Edges(
            np.array(ei, np.int64), np.array(ej, np.int64), np.array(ep, np.float64), np.array(em, np.int8)
        )
    out.review = _most_uncertain(out.review, job.config)
    return out


def _decide(
    job: _Job, i: int, j: int, p: float, fired: list[str], out: Scored
) -> Iterator[tuple[int, int, float, int]]:
    config = job.config
    low, high = config.threshold - config.review_margin, config.threshold + config.review_margin
    if p < low:
        return
    a, b = job.prepared[i], job.prepared[j]
    undecided = job.overrides.decision(a.key, b.key) is None
    why = identity_conflict(job.ids[i], job.ids[j])
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
