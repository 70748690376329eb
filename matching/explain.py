"""Why two offers were (or were not) grouped: every stage's view of the pair.

The pair model is a sum of trees, so "which features decided" is read off the trees themselves: along each
tree's path the change of the node value is credited to the feature the node splits on. The credit_of and the
model's starting value add up exactly to the pair's log-odds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .blocking import blocking_keys
from .config import MatchConfig
from .features import FEATURES, veto_reasons
from .identity import identity_of
from .prepare import Prepared, Vocabulary, prepare
from .records import OfferRecord
from .scoring import method_of, model_of, score_batch

SHOWN = 8
"""How many of the strongest feature credit_of the printed explanation lists."""


@dataclass
class Explanation:
    key_a: str
    key_b: str
    normalised: tuple[str, str]
    identifiers: tuple[dict[str, Any], dict[str, Any]]
    attributes: tuple[dict[str, str], dict[str, str]]
    shared_blocking_keys: list[str]
    vetoes: list[str]
    features: dict[str, float | None]
    """Every feature's value (``None``: the signal is absent for this pair)."""
    contributions: dict[str, float]
    """Log-odds each feature added (+) or took away (−), strongest first; with ``start`` they sum to the
    model's log-odds before vetoes and the GTIN rule."""
    start: float
    probability: float
    threshold: float
    decision: str
    method: str
    model: str
    model_version: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        lines = [
            f"{self.key_a}  vs  {self.key_b}",
            f"  normalised A: {self.normalised[0]}",
            f"  normalised B: {self.normalised[1]}",
            f"  identifiers A: {self.identifiers[0]}",
            f"  identifiers B: {self.identifiers[1]}",
            f"  attributes A: {self.attributes[0]}",
            f"  attributes B: {self.attributes[1]}",
            f"  shared blocking keys: {', '.join(self.shared_blocking_keys) or 'none (never compared)'}",
            f"  vetoes: {'; '.join(self.vetoes) or 'none'}",
            f"  what decided (model {self.model} {self.model_version}; log-odds, start {self.start:+.2f}):",
        ]
        for name, credit in list(self.contributions.items())[:SHOWN]:
            value = self.features.get(name)
            shown = "absent" if value is None else f"{value:.3f}"
            lines.append(f"    {name:<18} {shown:>7}  {credit:+.2f}")
        lines.append(
            f"  probability {self.probability:.3f} (threshold {self.threshold}): {self.decision}"
            f" by {self.method}"
        )
        return "\n".join(lines)


def explain(
    a: OfferRecord,
    b: OfferRecord,
    config: MatchConfig | None = None,
    corpus: Sequence[OfferRecord] | None = None,
) -> Explanation:
    """Explain the pair score. ``corpus`` (the records of the run) gives the token rarities; default a+b."""
    config = config or MatchConfig()
    pa, pb = prepare(a, config.cjk_tokens), prepare(b, config.cjk_tokens)
    others = [prepare(r, config.cjk_tokens).tokens for r in corpus] if corpus else [pa.tokens, pb.tokens]
    vocab = Vocabulary(others)
    scores = score_batch([pa, pb], [0], [1], vocab, config)
    row = scores.features[0].tolist()
    p = float(scores.probs[0])
    fired = veto_reasons(pa, pb, config.vetoes, config.gtin_decides)
    ia, ib = identity_of(a, pa), identity_of(b, pb)
    why = config.identity_rule().veto(ia, ib, p)  # the pipeline's identity veto
    if why:
        fired.append(f"identity: {why}")
    start, credit_of = model_of(config).trees.contributions(row)
    shared = sorted(set(blocking_keys(pa, vocab, config, ia)) & set(blocking_keys(pb, vocab, config, ib)))
    decision = "vetoed" if fired else ("match" if p >= config.threshold else "no match")
    return Explanation(
        key_a=a.key,
        key_b=b.key,
        normalised=(pa.norm, pb.norm),
        identifiers=(_identifiers(pa), _identifiers(pb)),
        attributes=(pa.attrs, pb.attrs),
        shared_blocking_keys=shared,
        vetoes=fired,
        features={n: (None if math.isnan(v) else round(v, 4)) for n, v in zip(FEATURES, row, strict=True)},
        contributions={
            FEATURES[f]: round(c, 4) for f, c in sorted(credit_of.items(), key=lambda fc: -abs(fc[1])) if c
        },
        start=round(start, 4),
        probability=round(p, 4),
        threshold=config.threshold,
        decision=decision,
        method=method_of(pa, pb),
        model=config.model,
        model_version=config.model_version,
    )


def _identifiers(record: Prepared) -> dict[str, Any]:
    return {"gtin": record.gtin, "mpn": record.mpn, "codes": sorted(record.codes), "brand": record.brand}
