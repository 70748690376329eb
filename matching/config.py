"""The matcher's configuration: the pair model, its threshold and the switches, saved with every run.

``MatchConfig()`` is the shipped default: the model ``matching/models/default.json`` with the threshold and
vetoes chosen when it was fitted (stored in the model file, the one place they are written).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from .attributes import VARIANT_KEYS
from .identity_vetoes import IdentityRule
from .model import DEFAULT_MODEL, ModelError, load_model

FALLBACK: dict[str, Any] = {
    "threshold": 0.5,
    "vetoes": list(VARIANT_KEYS),
    "identity_vetoes": [],
    "identity_bar": 2.0,
    "version": "",
}
"""Used only while no default model exists yet (when fitting the first one): scoring needs a model."""


def _setting(name: str) -> Any:
    try:
        model = load_model(DEFAULT_MODEL)
    except ModelError:
        return FALLBACK[name]
    return model.version if name == "version" else model.settings.get(name, FALLBACK[name])


@dataclass
class MatchConfig:
    """Everything that decides a grouping. ``to_dict()`` is stored with each run."""

    profile: str = "default"
    model: str = DEFAULT_MODEL
    """The pair model: ``default`` (shipped, ``matching/models/default.json``) or a registered one
    (``local-<version>``, re-fitted with the merchandiser's decisions and read from the database)."""
    model_version: str = field(default_factory=lambda: str(_setting("version")))
    """The model's content hash (stored with each run: which model grouped the products)."""
    cjk_tokens: str = "bigram"
    """How unspaced Chinese is tokenised: ``bigram`` (character bigrams, fast) or ``jieba`` (words)."""
    threshold: float = field(default_factory=lambda: float(_setting("threshold")))
    """Probability at or above which a scored pair is a match."""
    review_margin: float = 0.15
    """Pairs within this distance of the threshold go to the review queue."""
    review_limit: int = 1000
    vetoes: list[str] = field(default_factory=lambda: list(_setting("vetoes")))
    """Variant attributes whose conflict forbids a merge (pair and group level)."""
    identity_vetoes: list[str] = field(default_factory=lambda: list(_setting("identity_vetoes")))
    """Which ``identity_vetoes.IDENTITY_CHECKS`` (brand, model numbers, variant words, model words) forbid a
    merge, pair and group level; the model sees them all as features anyway."""
    identity_bar: float = field(default_factory=lambda: float(_setting("identity_bar")))
    """A pair scored at or over this merges despite an identity veto (over 1: the vetoes are absolute)."""
    gtin_decides: bool = True
    """Equal valid GTINs match (unless vetoed); different valid GTINs never match."""
    one_per_marketplace: bool = False
    """At most one offer per marketplace in a group (a record-linkage assumption; off by default)."""
    max_block_size: int = 100
    """Larger blocks are compared by sorted neighbourhood (a window) instead of all pairs."""
    window: int = 8
    rare_tokens: int = 4
    """How many of a record's rarest title tokens become blocking keys (also pairwise)."""
    workers: int = 1
    """rapidfuzz worker threads for batch scoring (-1 = all cores)."""
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def identity_rule(self) -> IdentityRule:
        return IdentityRule(tuple(self.identity_vetoes), self.identity_bar)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def for_model(cls, name: str, **changes: Any) -> MatchConfig:
        """The configuration a model was fitted with (its threshold and vetoes), ``changes`` applied."""
        model = load_model(name)
        settings = {k: v for k, v in model.settings.items() if k in {f.name for f in dataclasses.fields(cls)}}
        return cls(**{"model": name, "model_version": model.version, **settings, **changes})

    @classmethod
    def load(cls, profile: str = "default") -> MatchConfig:
        """The shipped default (``profile`` is kept for older callers; there is one default matcher)."""
        return cls.for_model(DEFAULT_MODEL, profile=profile)
