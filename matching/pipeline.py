"""The matcher end to end: normalise → extract → block → score → group (+ overrides, review queue)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .blocking import candidate_chunks
from .config import MatchConfig
from .grouping import Edge, Grouper
from .identity import Identity, identities
from .overrides import Overrides
from .prepare import Prepared, Vocabulary, prepare_all
from .records import OfferRecord
from .scoring import method_of, score_pairs

if TYPE_CHECKING:
    import numpy as np


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _edges(
    prepared: list[Prepared],
    vocab: Vocabulary,
    config: MatchConfig,
    stats: dict[str, float],
    review: list[PairDecision],
    overrides: Overrides,
    ids: list[Identity],
    codes: np.ndarray | None = None,
) -> list[Edge]:
    edges: list[Edge] = []
    low, high = config.threshold - config.review_margin, config.threshold + config.review_margin
    rule = config.identity_rule()
    for chunk in candidate_chunks(prepared, vocab, config, ids=ids, codes=codes):
        probs, vetoes = score_pairs(prepared, chunk, vocab, config)
        stats["candidate_pairs"] += len(chunk)
        for (i, j), p, fired in zip(chunk, probs, vetoes, strict=True):
            why = rule.veto(ids[i], ids[j], p) if p >= low else None
            if why:
                stats["identity_vetoes"] += 1
                if overrides.decision(prepared[i].key, prepared[j].key) is None:
                    review.append(
                        PairDecision(
                            prepared[i].key,
                            prepared[j].key,
                            round(p, 4),
                            [f"score {p:.3f} but not merged: {why}"],
                        )
                    )
                continue
            if p >= config.threshold:
                edges.append(Edge(i, j, p, method_of(prepared[i], prepared[j])))
            if low <= p < high and overrides.decision(prepared[i].key, prepared[j].key) is None:
                review.append(
                    PairDecision(
                        prepared[i].key,
                        prepared[j].key,
                        round(p, 4),
                        [f"score {p:.3f} near threshold {config.threshold}", *fired],
                    )
                )
        if len(review) > 10 * config.review_limit:  # bounded: keep the most uncertain
            review.sort(key=lambda d: (abs(d.score - config.threshold), d.key_a, d.key_b))
            del review[config.review_limit :]
    return edges


def match_offers(
    records: Sequence[OfferRecord], config: MatchConfig | None = None, overrides: Overrides | None = None
) -> MatchResult:
    """Group offers of the same product. Deterministic for the same records, config and overrides."""
    config = config or MatchConfig()
    records = sorted(records, key=lambda r: r.key)
    prepared = prepare_all(records, config.cjk_tokens)
    vocab = Vocabulary(p.tokens for p in prepared)
    return match_prepared(prepared, vocab, identities(records, prepared), config, overrides)


def match_prepared(
    prepared: list[Prepared],
    vocab: Vocabulary,
    ids: list[Identity],
    config: MatchConfig,
    overrides: Overrides | None = None,
    codes: np.ndarray | None = None,
) -> MatchResult:
    """:func:`match_offers` once records are prepared (sorted by key) — lets a benchmark time the stages
    (``codes``: the candidate pairs from :func:`blocking.candidate_codes`, when already computed)."""
    overrides = overrides or Overrides()
    index = {p.key: i for i, p in enumerate(prepared)}
    stats: dict[str, float] = {"offers": len(prepared), "candidate_pairs": 0, "identity_vetoes": 0}
    review: list[PairDecision] = []
    edges = _edges(prepared, vocab, config, stats, review, overrides, ids, codes)
    grouper = Grouper(prepared, config.vetoes, config.one_per_marketplace, ids)
    for a, b in sorted(overrides.split):
        if a in index and b in index:
            grouper.add_split(index[a], index[b])
    forced: set[int] = set()
    for a, b in sorted(overrides.confirm):
        if a in index and b in index:
            grouper.try_merge(Edge(index[a], index[b], 1.0, "override"), force=True)
            forced.update((index[a], index[b]))
    edges.sort(key=lambda e: (-e.score, e.i, e.j))
    best: dict[int, Edge] = {}
    weakest: dict[int, float] = {}
    for edge in edges:
        if overrides.decision(prepared[edge.i].key, prepared[edge.j].key) == "split":
            continue
        ri, rj = grouper.find(edge.i), grouper.find(edge.j)
        if ri != rj and grouper.try_merge(edge):
            weakest[grouper.find(edge.i)] = min(edge.score, weakest.get(ri, 1.0), weakest.get(rj, 1.0))
        if grouper.find(edge.i) == grouper.find(edge.j):
            best.setdefault(edge.i, edge)
            best.setdefault(edge.j, edge)
    for edge, why in grouper.blocked:
        if overrides.decision(prepared[edge.i].key, prepared[edge.j].key) is None:
            review.append(
                PairDecision(
                    prepared[edge.i].key,
                    prepared[edge.j].key,
                    round(edge.score, 4),
                    [f"score {edge.score:.3f} but not merged: {why}"],
                )
            )
    groups = _groups(grouper, prepared, best, weakest, forced)
    review.sort(key=lambda d: (abs(d.score - config.threshold), d.key_a, d.key_b))
    stats["accepted_pairs"] = len(edges)
    stats["groups"] = len(groups)
    return MatchResult(
        groups=groups, review=review[: config.review_limit], config=config.to_dict(), stats=stats
    )


def _groups(
    grouper: Grouper,
    prepared: list[Prepared],
    best: dict[int, Edge],
    weakest: dict[int, float],
    forced: set[int],
) -> list[Group]:
    out: list[Group] = []
    for comp in grouper.components():
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
