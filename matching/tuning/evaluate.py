"""Measure a matcher configuration on a labelled pair set: the pair decisions ``bijia match`` would make
(model probability at or over the threshold, no hard veto, no identity veto), precision, recall, F1."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from matching.config import MatchConfig
from matching.grouping import Edge, Grouper
from matching.identity import Identity, identity_of
from matching.prepare import Prepared, Vocabulary, prepare_all
from matching.scoring import score_batch, split_pairs

from .datasets import PairSet


@dataclass
class EvalReport:
    dataset: str
    model: str
    model_version: str
    threshold: float
    precision: float
    recall: float
    f1: float
    pairs: int
    positives: int
    tp: int
    fp: int
    fn: int
    seconds: float
    pairs_per_second: float
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{self.dataset} P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f} "
            f"pairs={self.pairs} pairs/s={self.pairs_per_second:,.0f} (model {self.model} {self.model_version})"
        )


@dataclass
class Scored:
    """A pair set scored by one configuration (probabilities are 0 where a hard rule vetoed)."""

    ps: PairSet
    prepared: list[Prepared]
    probs: np.ndarray
    features: np.ndarray


def prepared_of(ps: PairSet, cjk: str = "bigram") -> tuple[list[Prepared], Vocabulary]:
    prepared = prepare_all(ps.records, cjk)
    return prepared, Vocabulary(p.tokens for p in prepared)


def score(ps: PairSet, config: MatchConfig) -> Scored:
    prepared, vocab = prepared_of(ps, config.cjk_tokens)
    scores = score_batch(prepared, *split_pairs(ps.pairs), vocab, config)
    return Scored(ps, prepared, scores.probs, scores.features)


def identity_vetoed(scored: Scored, config: MatchConfig, over: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Which of the pairs marked ``over`` an identity check in ``config.identity_vetoes`` forbids (the
    pipeline's pair-level identity veto; GTIN and attribute conflicts are among the hard vetoes already)."""
    out = np.zeros(len(over), dtype=bool)
    rule = config.identity_rule()
    if not rule.checks:
        return out
    ids: dict[int, Identity] = {}

    def of(i: int) -> Identity:
        got = ids.get(i)
        if got is None:
            got = ids[i] = identity_of(scored.ps.records[i], scored.prepared[i])
        return got

    for k in over.nonzero()[0].tolist():
        i, j = scored.ps.pairs[k]
        out[k] = rule.veto(of(i), of(j), float(probs[k])) is not None
    return out


def decide(scored: Scored, config: MatchConfig, probs: np.ndarray | None = None) -> np.ndarray:
    """Pair decisions: probability ≥ threshold and no identity veto; with ``one_per_marketplace`` the pairs
    are grouped (1:1 linkage) first."""
    probs = scored.probs if probs is None else probs
    over = probs >= config.threshold
    over &= ~identity_vetoed(scored, config, over, probs)
    if not config.one_per_marketplace:
        return over
    grouper = Grouper(scored.prepared, config.vetoes, one_per_marketplace=True)
    for k in sorted(over.nonzero()[0].tolist(), key=lambda k: -probs[k]):
        i, j = scored.ps.pairs[k]
        grouper.try_merge(Edge(i, j, float(probs[k]), "title"))
    return np.array([grouper.find(i) == grouper.find(j) for i, j in scored.ps.pairs], dtype=bool)


def prf(labels: Sequence[int] | np.ndarray, preds: np.ndarray) -> tuple[float, float, float, int, int, int]:
    y = np.asarray(labels, dtype=bool)
    tp = int((y & preds).sum())
    fp, fn = int(preds.sum()) - tp, int(y.sum()) - tp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return precision, recall, f1, tp, fp, fn


def evaluate(ps: PairSet, config: MatchConfig | None = None) -> EvalReport:
    """Score a labelled pair set with ``config`` (default: the shipped model) and count right and wrong
    decisions; pairs/s is end to end (preparing the records, features, model, decisions)."""
    config = config or MatchConfig()
    start = time.perf_counter()
    scored = score(ps, config)
    preds = decide(scored, config)
    seconds = time.perf_counter() - start
    p, r, f1, tp, fp, fn = prf(ps.labels, preds)
    return EvalReport(
        dataset=ps.name,
        model=config.model,
        model_version=config.model_version,
        threshold=config.threshold,
        precision=round(p, 4),
        recall=round(r, 4),
        f1=round(f1, 4),
        pairs=len(ps.pairs),
        positives=int(sum(ps.labels)),
        tp=tp,
        fp=fp,
        fn=fn,
        seconds=round(seconds, 3),
        pairs_per_second=round(len(ps.pairs) / seconds, 1) if seconds else 0.0,
        config=config.to_dict(),
    )


def scoring_throughput(ps: PairSet, config: MatchConfig | None = None, repeat: int = 5) -> dict[str, Any]:
    """Scored pairs per CPU-second on one core: the record table, features, model and hard vetoes over the
    set's pairs × ``repeat`` (records prepared beforehand — preparing them is the pipeline's stage 1–2)."""
    config = config or MatchConfig()
    config.workers = 1
    prepared, vocab = prepared_of(ps, config.cjk_tokens)
    left, right = split_pairs(ps.pairs * repeat)
    score_batch(prepared, left[:100], right[:100], Vocabulary([]), config)  # warm-up: model loaded
    start = time.process_time()
    score_batch(prepared, left, right, vocab, config)
    seconds = time.process_time() - start
    return {
        "dataset": ps.name,
        "model": f"{config.model} {config.model_version}",
        "pairs": len(left),
        "cpu_seconds": round(seconds, 3),
        "pairs_per_second_per_core": round(len(left) / seconds) if seconds else 0,
    }


def group_prf(
    scored: Scored, config: MatchConfig, probs: np.ndarray | None = None
) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of the *groups* the pipeline's grouping would make from the scored
    pairs (strongest first, pair and group identity vetoes), against the set's truth (``PairSet.truth``)."""
    probs = scored.probs if probs is None else probs
    ps, rule = scored.ps, config.identity_rule()
    ids = [identity_of(r, p) for r, p in zip(ps.records, scored.prepared, strict=True)]
    grouper = Grouper(scored.prepared, config.vetoes, config.one_per_marketplace, ids)
    over = np.flatnonzero(probs >= config.threshold)
    for k in sorted(over.tolist(), key=lambda k: (-probs[k], k)):
        i, j = ps.pairs[k]
        if rule.veto(ids[i], ids[j], float(probs[k])) is None:
            grouper.try_merge(Edge(i, j, float(probs[k]), "title"))
    members: dict[int, list[str]] = {}
    for i, record in enumerate(ps.records):
        members.setdefault(grouper.find(i), []).append(ps.truth[record.key])
    predicted = sum(len(m) * (len(m) - 1) // 2 for m in members.values())
    tp = sum(n * (n - 1) // 2 for m in members.values() for n in Counter(m).values())
    actual = sum(n * (n - 1) // 2 for n in Counter(ps.truth.values()).values())
    precision, recall = (tp / predicted if predicted else 0.0), (tp / actual if actual else 0.0)
    return precision, recall, (2 * precision * recall / (precision + recall) if tp else 0.0)
