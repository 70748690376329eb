"""Stages 1+2 applied to one record: everything the blocker and scorer read, computed once."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .attributes import canonical_attributes, canonical_gtin, model_codes, variant_attributes
from .normalise import BRAND_ALIASES, canonical_brand, fold, normalise_title
from .records import OfferRecord

VARIANT_WORDS: frozenset[str] = frozenset(
    {"pro", "max", "plus", "mini", "ultra", "lite", "se", "air", "slim", "xl", "fe", "neo", "note"}
)

KNOWN_BRANDS: dict[str, str] = {v: v for v in BRAND_ALIASES.values() if " " not in v}
"""Single-token canonical brands recognised at the start of a title when the shop gives no brand."""


@dataclass(frozen=True, slots=True)
class Prepared:
    key: str
    marketplace: str
    norm: str
    tokens: frozenset[str]
    condensed: str
    bounds: frozenset[int]
    codes: frozenset[str]
    desc_codes: frozenset[str]
    gtin: str | None
    brand: str | None
    attrs: dict[str, str]
    """Canonical variant attributes: title-derived, overridden by shop-stated ones."""
    kv: dict[str, str]
    """All shop-stated attributes (canonical keys) — compared where both have a key."""
    numbers: frozenset[str]
    bare_numbers: frozenset[str]
    """Title tokens that are plain numbers (model generations: Mate 50 vs Mate 60), not units."""
    variant_words: frozenset[str]
    price: float | None
    category: str | None
    desc: str = ""
    """The description folded, lower-cased, letters and digits only (first 4,000 characters): where a model
    code missing from the title is looked for."""
    mpn: str | None = None
    """The model number the shop states (``OfferRecord.mpn``, else a stated ``mpn``/``型号``/``货号``),
    lower-cased letters and digits only."""


def squashed_mpn(mpn: str | None) -> str | None:
    """A stated model number as the features compare it: folded, lower-cased letters and digits only."""
    return "".join(ch for ch in fold(mpn).lower() if ch.isalnum()) or None if mpn else None


def prepare(record: OfferRecord, cjk: str = "bigram") -> Prepared:
    norm = normalise_title(record.title, cjk)
    seq = norm.split()
    bounds, pos = {0}, 0
    for t in seq:
        pos += len(t)
        bounds.add(pos)
    stated = canonical_attributes(record.attributes)
    codes = set(model_codes(record.title))
    mpn = record.mpn or stated.get("mpn")
    if mpn:
        codes |= model_codes(mpn) or {"".join(ch for ch in mpn.lower() if ch.isalnum())}
    codes.discard("")
    attrs = variant_attributes(record.title)
    attrs.update(
        {
            k: v
            for k, v in stated.items()
            if k in ("storage", "memory", "colour", "size", "pack", "volume", "weight")
        }
    )
    brand = canonical_brand(record.brand or stated.get("brand"))
    if brand in ("other", "其他", "none", "unbranded", "generic", "无", "no brand"):
        brand = None
    if brand is None:
        brand = next((KNOWN_BRANDS[t] for t in seq[:3] if t in KNOWN_BRANDS), None)
    tokens = frozenset(seq)
    return Prepared(
        key=record.key,
        marketplace=record.marketplace,
        norm=norm,
        tokens=tokens,
        condensed="".join(seq),
        bounds=frozenset(bounds),
        codes=frozenset(codes),
        desc_codes=model_codes(record.description) if record.description else frozenset(),
        gtin=canonical_gtin(record.gtin or stated.get("gtin")),
        brand=brand,
        attrs=attrs,
        kv={k: v for k, v in stated.items() if k not in ("brand", "gtin")},
        numbers=frozenset(t for t in tokens if any(c.isdigit() for c in t)),
        bare_numbers=frozenset(t for t in tokens if t.isdigit()),
        variant_words=tokens & VARIANT_WORDS,
        price=record.price,
        category=record.category,
        desc=_condense(record.description),
        mpn=squashed_mpn(mpn),
    )


def _condense(text: str | None) -> str:
    return "".join(ch for ch in fold(text[:4000]).lower() if ch.isalnum()) if text else ""


def prepare_all(records: Sequence[OfferRecord], cjk: str = "bigram") -> list[Prepared]:
    return [prepare(r, cjk) for r in records]


class Vocabulary:
    """Document frequencies of title tokens over the records being matched (for IDF and blocking)."""

    def __init__(self, token_sets: Iterable[frozenset[str]]) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0
        for tokens in token_sets:
            self.df.update(tokens)
            self.n += 1
        self._idf: dict[str, float] = {}
        self._weights: dict[frozenset[str], float] = {}

    def idf(self, token: str) -> float:
        value = self._idf.get(token)
        if value is None:
            value = math.log((self.n + 1) / (self.df.get(token, 0) + 0.5))
            self._idf[token] = value
        return value

    def weight(self, tokens: frozenset[str]) -> float:
        """The summed IDF of a token set, cached per set: a record is scored against many candidates."""
        value = self._weights.get(tokens)
        if value is None:
            value = self._weights[tokens] = sum(self.idf(t) for t in tokens)
        return value
