"""The matcher's configuration: thresholds, weights and switches, saved with every run."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .attributes import VARIANT_KEYS

TUNED_PATH = Path(__file__).with_name("tuned.json")

DEFAULT_WEIGHTS: dict[str, float] = {
    "tset": 4.0,
    "tsort": 1.0,
    "ratio": 1.0,
    "partial": 0.5,
    "idf_jacc": 4.0,
    "gtin_eq": 8.0,
    "gtin_ne": -6.0,
    "code_eq": 4.0,
    "code_conflict": -3.0,
    "desc_code": 1.0,
    "brand_eq": 0.5,
    "brand_ne": -3.0,
    "attr_agree": 0.5,
    "attr_conflict": -4.0,
    "num_jacc": 1.5,
    "variant_word_diff": -2.0,
    "kv_eq": 0.0,
    "kv_ne": 0.0,
    "price_dev": -0.5,
    "cat_ne": 0.0,
    "bare_num_conflict": -3.0,
}


@dataclass
class MatchConfig:
    """Everything that decides a grouping. ``to_dict()`` is stored with each run."""

    profile: str = "default"
    cjk_tokens: str = "bigram"
    """How unspaced Chinese is tokenised: ``bigram`` (character bigrams, fast) or ``jieba`` (words)."""
    threshold: float = 0.5
    """Probability at or above which a scored pair is a match."""
    review_margin: float = 0.15
    """Pairs within this distance of the threshold go to the review queue."""
    review_limit: int = 1000
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    bias: float = -7.0
    vetoes: list[str] = field(default_factory=lambda: list(VARIANT_KEYS))
    """Variant attributes whose conflict forbids a merge (pair and group level). May also hold ``numbers``:
    the plain numbers of two titles (Mate 50 vs Mate 60) must then agree where both have some (off by
    default: on the demo truth it raised group precision 0.83 → 0.90 but cut recall 0.92 → 0.81)."""
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
    model: str = ""
    """A tree model under ``matching/models/`` (``abt-buy.json``) that replaces ``weights``/``bias`` and also
    reads ``features.EXTRA_FEATURES``; empty: the logistic weights."""
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def load(cls, profile: str = "default", path: Path = TUNED_PATH) -> MatchConfig:
        """The tuned configuration named ``profile`` from ``tuned.json`` (defaults if absent)."""
        if path.exists():
            profiles = json.loads(path.read_text(encoding="utf-8")).get("profiles", {})
            if profile in profiles:
                return cls.from_dict({**profiles[profile]["config"], "profile": profile})
        return cls(profile=profile)
