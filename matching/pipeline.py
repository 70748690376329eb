"""The matcher end to end: normalise → extract → block → score → group (+ overrides, review queue)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .collector import gc_paused
from .config import MatchConfig
from .grouping import Edges, Group, Review
from .overrides import Overrides
from .parallel import Scored, group_store, score_codes
from .records import OfferRecord
from .store import PreparedStore

__all__ = ["Group", "MatchResult", "PairDecision", "match_offers", "match_store"]


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
    """Group offers of the same product. Deterministic for the same records, config and overrides — and the
    same whatever ``workers``, the number of processes that prepare, score and group."""
    config = config or MatchConfig()
    return match_store(
        PreparedStore.prepare(records, config.cjk_tokens, workers), config, overrides, workers=workers
    )


@gc_paused()  # millions of objects made, no cycles (and the workers forked meanwhile inherit the pause)
def match_store(
    store: PreparedStore,
    config: MatchConfig,
    overrides: Overrides | None = None,
    codes: np.ndarray | None = None,
    workers: int = 1,
) -> MatchResult:
    """:func:`match_offers` once the records are prepared — lets a benchmark time the stages (``codes``: the
    candidate pairs from :meth:`PreparedStore.candidate_codes` when already computed)."""
    overrides = overrides or Overrides()
    stats: dict[str, float] = {"offers": len(store)}
    if codes is None and vetoes_are_final(config):  # vetoed pairs dropped as blocking finds them
        codes = store.candidate_codes(config, vetoes=True, workers=workers)
    elif codes is None:
        codes = store.candidate_codes(config, workers=workers)
    stats["candidate_pairs"] = len(codes)
    scored = score_candidates(store, config, overrides, codes, workers, stats)
    groups, blocked = group_store(store, config, overrides, scored.edges, workers=workers)
    stats["accepted_pairs"] = len(scored.edges)
    stats["groups"] = len(groups)
    review = review_of(store, config, scored.review + blocked)
    return MatchResult(groups, review, config.to_dict(), stats, scored.edges)


def vetoes_are_final(config: MatchConfig) -> bool:
    """A vetoed pair scores 0; it can be dropped before scoring unless such a pair could still be reviewed."""
    return config.threshold - config.review_margin > 0


def score_candidates(
    store: PreparedStore,
    config: MatchConfig,
    overrides: Overrides,
    codes: np.ndarray,
    workers: int,
    stats: dict[str, float],
) -> Scored:
    """Drop the pairs the scorer would veto whatever their score, then score the rest on ``workers``
    processes."""
    if vetoes_are_final(config):
        vetoed = store.vetoed(config, codes)
        codes = codes[~vetoed]
        stats["vetoed_before_scoring"] = int(vetoed.sum())
    scored = score_codes(store, config, overrides, codes, workers)
    stats["scored_pairs"] = scored.scored_pairs
    stats["identity_vetoes"] = scored.identity_vetoes
    return scored


def review_of(store: PreparedStore, config: MatchConfig, review: list[Review]) -> list[PairDecision]:
    """The review queue: the pairs most uncertain first, ``config.review_limit`` of them."""
    keys = store.keys
    review.sort(key=lambda r: (abs(r.score - config.threshold), keys[r.i], keys[r.j]))
    return [PairDecision(keys[r.i], keys[r.j], r.score, r.reasons) for r in review[: config.review_limit]]
