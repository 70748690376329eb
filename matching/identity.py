"""What names *one* product in a title, beyond string similarity: brand, model numbers, model words,
variant words (pro/max/plus…) and variant attributes. The vetoes they give are
:mod:`matching.identity_vetoes` (apart: this module shapes the rows a match keeps, ``PREPARE_VERSION``).

Two offers are different products when (both sides stating it) their brands differ, their GTINs differ,
a variant attribute differs (an unstated pack count next to a stated volume/weight counts as 1), their
model numbers differ (Mate 50 vs Mate 60, M3 vs M4, Air Max 90 vs 97 — after removing the spans already
read as attributes, so ``6 x 500ml`` or ``EU 42`` are not model numbers), their variant words differ
(Pro vs Pro Max: counted, so ``M4`` vs ``M4 Pro`` in ``MacBook Pro`` differ), or each names a model
word the other lacks (``Pepsi Cola`` vs ``Pepsi No Sugar``; Latin words and Chinese runs compared apart).
The same checks run between *groups* in :mod:`matching.grouping`, so no bridging offer joins them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .attributes import VARIANT_KEYS, canonical_attributes, variant_attributes
from .normalise import (
    _ALIAS_MAP,
    _ALIAS_RE,
    _CAMEL,
    _PLUS,
    BRAND_ALIASES,
    COLOURS,
    LATIN_STOP_WORDS,
    canonical_units,
    fold,
    strip_marketing,
)
from .patterns import first_char_alternation, words_alternation
from .prepare import VARIANT_WORDS as PREPARED_VARIANT_WORDS
from .prepare import Prepared
from .records import OfferRecord

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PACK_UNIT = "瓶装|罐装|听装|支装|袋装|包装|盒装|瓶|罐|听|支|袋|包|盒|片|只|件套|件"
_LONE_G = re.compile(r"(\d(?<![\d.]\d)\d*+)\s*+G(?![a-zA-Z])")
_SIZE_TAIL = r"\s*:?\s*\d{1,2}(?:\.5)?\b"
_STRIP = re.compile(
    r"[\d×*psxeu](?:"  # the first character of every alternative, so the regex engine skips to them
    r"(?<=\d)(?:"
    r"(?<=2)(?<!\w2)0\d\d\s+new\b"  # '2024 New' (marketing; '2024款' stays a model year)
    r"|(?<=[345])(?<![a-z0-9][345])g(?![a-z0-9])"  # networks
    r"|\d*(?:\.\d+)?\s*(?:gb|tb|mb)(?:\s*(?:ram|ssd|rom))?"
    r"|\d*(?:\.\d+)?\s*(?:ml|g|mah)(?![a-z])"
    r"|\d*\s*-?\s*(?:pack|pk|pcs|pieces|count|ct)(?![a-z])"
    r"|\d*\s*x(?=\s+\d)"
    rf"|\d*\s*(?:{_PACK_UNIT})"
    r"|\d(?:\.5)?\s*码"
    r")"
    r"|(?<=p)ack\s*of\s*\d+"
    rf"|(?<=s)(?:et\s*of\s*\d+|(?<!\ws)ize{_SIZE_TAIL}|(?<!\ws)ingle\b)"
    r"|(?<=x)(?<![a-z0-9]x)\s+\d+(?![\d.]*\s*(?:ml|g))"
    rf"|(?<=[×*])\s*\d+(?:{_PACK_UNIT})?"
    rf"|(?<=e)(?<!\we)(?:u{_SIZE_TAIL}|ur{_SIZE_TAIL})"
    rf"|(?<=u)(?<!\wu)(?:s{_SIZE_TAIL}|k{_SIZE_TAIL})"
    r")"
)
"""What the identity's words leave out: '2024 New', networks (4G), storage, volumes and weights, pack counts
('pack of 6', '6 pcs', 'x 24', '×6', '6 x', '12罐'), sizes ('EU 42', '42码'), 'single' — as alternatives
grouped by their first character (a digit, 'p', 's', 'x', '×'/'*', 'e', 'u'), each in its original order
(``tests/test_matching_patterns.py`` keeps the plain form and compares)."""
_SIX_X = re.compile(r"(\d(?<![\d.]\d)\d*+)\s*+x\s+\d[\d.]*\s*(?:ml|l|g|kg|sticks?)(?![a-z])", re.I)
VARIANT_WORDS = PREPARED_VARIANT_WORDS - {"air"}
"""Qualifiers that make another model (Pro, Max, Plus…), counted. Not ``air``: a product line (MacBook Air,
Air Max, Air Fryer) more often than a variant — it stays a model word."""
_TOKEN = re.compile(rf"[{_CJK}]+|[a-z]+|\d+(?:w(?![a-z]))?")
_COLOUR_PHRASE = re.compile(
    words_alternation(
        sorted({c for c in [*COLOURS, *COLOURS.values()] if c.isascii()}, key=len, reverse=True)
    )
)
_STOP = (
    (LATIN_STOP_WORDS - {"original", "free"})
    | {"pack", "ram", "memory", "ssd", "sz", "size", "eu", "eur", "行货", "标配", "款", "装"}
    | {"fast", "ship", "returns", "sealed", "warranty"}
)
"""Words that say nothing about which product it is: the normaliser's stop words but "original" and "free"
(kept as identity words); pack, RAM, SSD and size words (attributes, read apart); a shop's service words
(``Fast Ship``, ``Free Returns``, ``w/ Warranty``, ``Sealed``)."""
_BRAND_WORDS: dict[str, frozenset[str]] = {}
for _alias, _brand in BRAND_ALIASES.items():
    _BRAND_WORDS.setdefault(_brand, frozenset())
    if _alias.isascii() and re.fullmatch(r"[a-z]+", _alias):  # 'mi', 'lining' (not 'pepsi-cola': Pepsi Cola)
        _BRAND_WORDS[_brand] |= {_alias}
for _brand in set(BRAND_ALIASES.values()):
    _BRAND_WORDS[_brand] = _BRAND_WORDS.get(_brand, frozenset()) | frozenset(re.findall(r"[a-z]+", _brand))
_BRAND_NAMES = {a: b for a, b in BRAND_ALIASES.items() if a.isascii()} | {
    b: b for b in BRAND_ALIASES.values()
}
_BRAND_RE = re.compile(
    "(?:"
    + first_char_alternation(
        (k[0], "[a-z0-9]", re.escape(k[1:])) for k in sorted(_BRAND_NAMES, key=len, reverse=True)
    )
    + r")(?![a-z0-9])"
)
"""A brand name not glued to a letter or digit, longest first."""


@dataclass(frozen=True, slots=True)
class Identity:
    brand: str | None
    gtin: str | None
    numbers: tuple[str, ...]
    """Model numbers in title order (``MacBook Pro 14 M3`` → 14, 3)."""
    variant: tuple[tuple[str, int], ...]
    latin: frozenset[str]
    cjk: frozenset[str]
    codes: frozenset[str]
    """Model codes/MPNs (``wh1000xm5``): a shared one outweighs differing descriptive words."""
    condensed: str
    """The Latin words glued (``PepsiNoSugar`` and ``Pepsi No Sugar`` both read ``pepsinosugar``)."""
    attrs: tuple[tuple[str, str], ...]

    @property
    def attr_map(self) -> dict[str, str]:
        return dict(self.attrs)


def _fix_grams(text: str) -> str:
    """``100G`` next to food is grams: a storage size is a power of two (or whole terabytes)."""

    def sub(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return m.group(0) if n & (n - 1) == 0 or n in (3, 4, 5) else f"{n}g"

    return _LONE_G.sub(sub, text)


def _attributes(title: str, stated: dict[str, str], raw: str) -> dict[str, str]:
    attrs = variant_attributes(title)
    if "pack" not in attrs:
        m = _SIX_X.search(raw)
        if m and 1 < int(m.group(1)) <= 500:
            attrs["pack"] = m.group(1)
    attrs.update({k: v for k, v in stated.items() if k in VARIANT_KEYS})
    if "pack" not in attrs and ("volume" in attrs or "weight" in attrs):
        attrs["pack"] = "1"
    return attrs


def identity_of(record: OfferRecord, prepared: Prepared) -> Identity:
    """The identity of one offer; brand, GTIN and codes as :mod:`matching.prepare` read them."""
    brand, gtin = prepared.brand, prepared.gtin
    raw = _fix_grams(fold(record.title))
    stated = canonical_attributes(record.attributes)
    attrs = _attributes(raw, stated, raw)
    text = _PLUS.sub(" plus", _CAMEL.sub(" ", strip_marketing(raw)))
    text = canonical_units(text).lower()
    text = _ALIAS_RE.sub(lambda m: f" {_ALIAS_MAP[m.group(0)]} ", text)
    text = _STRIP.sub(" ", text)
    text = _COLOUR_PHRASE.sub(" ", text)
    tokens = _TOKEN.findall(text)
    if brand is None:
        found = _BRAND_RE.search(text)
        brand = _BRAND_NAMES[found.group(0)] if found else None
    brand_words = _BRAND_WORDS.get(brand or "", frozenset()) | {brand or ""}
    numbers = tuple(t for t in tokens if t[0].isdigit())
    variant = Counter(t for t in tokens if t in VARIANT_WORDS)
    words = [
        t
        for t in tokens
        if not t[0].isdigit() and t not in VARIANT_WORDS and t not in _STOP and t not in brand_words
    ]
    return Identity(
        brand=brand,
        gtin=gtin,
        numbers=numbers,
        variant=tuple(sorted(variant.items())),
        latin=frozenset(t for t in words if t.isascii()),
        cjk=frozenset(t for t in words if not t.isascii()),
        codes=prepared.codes,
        condensed="".join(t for t in tokens if t.isascii() and t.isalpha() and t not in brand_words),
        attrs=tuple(sorted(attrs.items())),
    )


def identities(records: Sequence[OfferRecord], prepared: Sequence[Prepared]) -> list[Identity]:
    return [identity_of(r, p) for r, p in zip(records, prepared, strict=True)]
