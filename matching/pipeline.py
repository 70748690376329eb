"""The matcher end to end: normalise → extract → block → score → group (+ overrides, review queue)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .blocking import VetoCodes, candidate_codes
from .config import MatchConfig
from .grouping import Edge, Grouper
from .identity import Identity, identities
from .overrides import Overrides
from .parallel import METHODS, Edges, Review, score_codes
from .prepare import Prepared, Vocabulary, prepare_all
from .records import OfferRecord


@dataclass
class Group:
    members: list[str]
    """Offer keys, sorted."""
    confidence: float
    """The weakest accepted link that holds the group together (1.0 for singletons and overrides)."""
    method: dict[str, str]
    """Per member: ``gtin``/``model``/``title``/``override``/``single``."""


@dataclass
class PairDecision:
    key_a: str
    key_b: str
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class MatchResult:
    groups: list[Group]
    review: list[PairDecision]
    config: dict[str, Any]
    stats: dict[str, float]
    edges: Edges | None = None
    """The accepted pairs (indices into the records sorted by key) — what incremental matching keeps."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def match_offers(
    records: Sequence[OfferRecord],
    config: MatchConfig | None = None,
    overrides: Overrides | None = None,
    workers: int = 1,
) -> MatchResult:
    """Group offers of the same product. Deterministic for the same records, config and overrides (and
    the same whatever ``workers``, the number of processes that score)."""
    config = config or MatchConfig()
    records = sorted(records, key=lambda r: r.key)
    prepared = prepare_all(records, config.cjk_tokens)
    vocab = Vocabulary(p.tokens for p in prepared)
    return match_prepared(prepared, vocab, identities(records, prepared), config, overrides, workers=workers)


def match_prepared(
    prepared: Sequence[Prepared],
    vocab: Vocabulary,
    ids: Sequence[Identity],
    config: MatchConfig,
    overrides: Overrides | None = None,
    codes: np.ndarray | None = None,
    workers: int = 1,
) -> MatchResult:
    """:func:`match_offers` once records are prepared (sorted by key) — lets a benchmark time the stages
    (``codes``: the candidate pairs from :func:`blocking.candidate_codes`, when already computed)."""
    overrides = overrides or Overrides()
    if codes is None:
        codes = candidate_codes(prepared, vocab, config, ids)
    stats: dict[str, float] = {"offers": len(prepared), "candidate_pairs": len(codes)}
    scored = score_candidates(prepared, vocab, ids, config, overrides, codes, workers, stats)
    groups, blocked = group_edges(prepared, ids, config, overrides, scored.edges)
    review = _review(prepared, config, overrides, scored.review + blocked)
    stats["accepted_pairs"] = len(scored.edges)
    stats["groups"] = len(groups)
    return MatchResult(groups, review, config.to_dict(), stats, scored.edges)


def score_candidates(
    prepared: Sequence[Prepared],
    vocab: Vocabulary,
    ids: Sequence[Identity],
    config: MatchConfig,
    overrides: Overrides,
    codes: np.ndarray,
    workers: int,
    stats: dict[str, float],
):
    """Drop the pairs the scorer would veto whatever their score (when no review could want them), then
    score the rest on ``workers`` processes."""
    if config.threshold - config.review_margin > 0:
        n = len(prepared)
        vetoed = VetoCodes(prepared, config).vetoed(codes // n, codes % n)
        codes = codes[~vetoed]
        stats["vetoed_before_scoring"] = int(vetoed.sum())
    scored = score_codes(prepared, vocab, ids, config, overrides, codes, workers)
    stats["scored_pairs"] = scored.scored_pairs
    stats["identity_vetoes"] = scored.identity_vetoes
    return scored


def group_edges(
    prepared: Sequence[Prepared],
    ids: Sequence[Identity],
    config: MatchConfig,
    overrides: Overrides,
    edges: Edges,
    rows: np.ndarray | None = None,
) -> tuple[list[Group], list[Review]]:
    """Union-find over the accepted pairs, strongest first (ties by index), with the group vetoes and the
    overrides; the groups of ``rows`` (default: all), and the merges a veto refused (review candidates).
    The outcome within one connected component of the edges (and confirm overrides) depends on that
    component alone — what lets incremental matching regroup only the components that changed."""
    index = {p.key: i for i, p in enumerate(prepared)}
    grouper = Grouper(prepared, config.vetoes, config.one_per_marketplace, ids)
    for a, b in sorted(overrides.split):
        if a in index and b in index:
            grouper.add_split(index[a], index[b])
    forced: set[int] = set()
    for a, b in sorted(overrides.confirm):
        if a in index and b in index:
            grouper.try_merge(Edge(index[a], index[b], 1.0, "override"), force=True)
            forced.update((index[a], index[b]))
    best: dict[int, Edge] = {}
    weakest: dict[int, float] = {}
    order = np.lexsort((edges.j, edges.i, -edges.score))
    for k in order.tolist():
        edge = Edge(int(edges.i[k]), int(edges.j[k]), float(edges.score[k]), METHODS[edges.method[k]])
        if overrides.decision(prepared[edge.i].key, prepared[edge.j].key) == "split":
            continue
        ri, rj = grouper.find(edge.i), grouper.find(edge.j)
        if ri != rj and grouper.try_merge(edge):
            weakest[grouper.find(edge.i)] = min(edge.score, weakest.get(ri, 1.0), weakest.get(rj, 1.0))
        if grouper.find(edge.i) == grouper.find(edge.j):
            best.setdefault(edge.i, edge)
            best.setdefault(edge.j, edge)
    blocked = [
        Review(edge.i, edge.j, round(edge.score, 4), [f"score {edge.score:.3f} but not merged: {why}"])
        for edge, why in grouper.blocked
        if overrides.decision(prepared[edge.i].key, prepared[edge.j].key) is None
    ]
    return _groups(grouper, prepared, best, weakest, forced, rows), blocked


def _review(
    prepared: Sequence[Prepared], config: MatchConfig, overrides: Overrides, review: list[Review]
) -> list[PairDecision]:
    review.sort(key=lambda r: (abs(r.score - config.threshold), prepared[r.i].key, prepared[r.j].key))
    return [
        PairDecision(prepared[r.i].key, prepared[r.j].key, r.score, r.reasons)
        for r in review[: config.review_limit]
    ]


def _groups(
    grouper: Grouper,
    prepared: Sequence[Prepared],
    best: dict[int, Edge],
    weakest: dict[int, float],
    forced: set[int],
    rows: np.ndarray | None,
) -> list[Group]:
    out: list[Group] = []
    for comp in grouper.components(None if rows is None else rows.tolist()):
        if len(comp) == 1:
            out.append(Group([prepared[comp[0]].key], 1.0, {prepared[comp[0]].key: "single"}))
            continue
        method = {}
        for i in comp:
            edge = best.get(i)
            method[prepared[i].key] = edge.method if edge else ("override" if i in forced else "title")
        root = grouper.find(comp[0])
        out.append(Group(sorted(prepared[i].key for i in comp), round(weakest.get(root, 1.0), 4), method))
    return out
