"""Why two offers were (or were not) grouped: every stage's view of the pair."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .blocking import blocking_keys
from .config import MatchConfig
from .features import EXTRA_FEATURES
from .identity import conflict as identity_conflict
from .identity import identity_of
from .prepare import Prepared, Vocabulary, prepare
from .records import OfferRecord
from .scoring import FEATURES, feature_rows, method_of, probabilities


@dataclass
class Explanation:
    key_a: str
    key_b: str
    normalised: tuple[str, str]
    identifiers: tuple[dict[str, Any], dict[str, Any]]
    attributes: tuple[dict[str, str], dict[str, str]]
    shared_blocking_keys: list[str]
    vetoes: list[str]
    features: dict[str, float]
    contributions: dict[str, float]
    probability: float
    threshold: float
    decision: str
    method: str
    model: str = ""
    """The tree model that decided (then ``contributions`` is empty: trees have no per-feature weight)."""

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
        ]
        if self.model:
            lines.append(f"  features (tree model {self.model} decides; no per-feature weights):")
            lines.extend(
                f"    {name:<18} {value:6.3f}"
                for name, value in self.features.items()
                if value and value == value
            )  # nan: a feature this model does not read
        else:
            lines.append("  score components (value × weight):")
            for name, value in self.features.items():
                if value or self.contributions[name]:
                    lines.append(f"    {name:<18} {value:6.3f}  → {self.contributions[name]:+.3f}")
        lines.append(
            f"  probability {self.probability:.3f} (threshold {self.threshold}) → {self.decision}"
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
    rows, vetoes = feature_rows([pa, pb], [(0, 1)], vocab, config)
    row, fired = rows[0], list(vetoes[0])
    p = probabilities([row], [fired], config)[0]
    ia, ib = identity_of(a, pa), identity_of(b, pb)
    why = identity_conflict(ia, ib)  # the pipeline's identity veto (brand, model numbers, variant words …)
    if why:
        fired.append(f"identity: {why}")
    names = (*FEATURES, *EXTRA_FEATURES) if config.model else FEATURES
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
        features={n: round(v, 4) for n, v in zip(names, row, strict=True)},
        contributions={}
        if config.model
        else {n: round(v * config.weights.get(n, 0.0), 4) for n, v in zip(names, row, strict=True)},
        probability=round(p, 4),
        threshold=config.threshold,
        decision=decision,
        method=method_of(pa, pb),
        model=config.model,
    )


def _identifiers(record: Prepared) -> dict[str, Any]:
    return {"gtin": record.gtin, "codes": sorted(record.codes), "brand": record.brand}
