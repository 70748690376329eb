"""Stages 1+2 for a whole column of records at once, kept as compact rows, not per-offer objects.

:func:`prepare_rows` reads every title with the column passes of :mod:`matching.bulk` (one regex call per
pass over all titles) and keeps, per offer, one :class:`Row` — a tuple of strings and small tuples, the
repeated ones shared — instead of a :class:`~matching.prepare.Prepared` and an
:class:`~matching.identity.Identity` (whose token sets and dictionaries cost about ten times the memory).
:func:`materialise` builds those two objects back from a row when a chunk of pairs is scored or a component
grouped; they are exactly what :func:`~matching.prepare.prepare` and :func:`~matching.identity.identity_of`
give (``tests/test_matching_bulk.py``).
"""

from __future__ import annotations

import hashlib
import pickle
import re
import sys
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

from .attributes import (
    _CLOTH,
    _COLOUR_RE,
    _NOT_CODE,
    _RAM,
    _SHOE,
    _STORAGE_GB,
    _VOL,
    _WGT,
    COLOURS,
    _num,
    _specs_only,
    canonical_attributes,
    canonical_gtin,
    capacity,
    model_codes,
    pack_count,
)
from .attributes import _CODE as _CODE_RE
from .bulk import (
    Column,
    aliases_column,
    fold_column,
    normalise_column,
    strip_marketing_column,
    units_column,
)
from .collector import gc_paused
from .identity import (
    _BRAND_NAMES,
    _BRAND_RE,
    _BRAND_WORDS,
    _COLOUR_PHRASE,
    _LONE_G,
    _SIX_X,
    _STOP,
    _STRIP,
    _TOKEN,
    Identity,
    _fix_grams,
)
from .identity import VARIANT_WORDS as IDENTITY_VARIANT_WORDS
from .normalise import _CAMEL, _PLUS, canonical_brand
from .prepare import KNOWN_BRANDS, VARIANT_WORDS, Prepared, _condense, squashed_mpn
from .records import OfferRecord

_JUNK_BRANDS = ("other", "其他", "none", "unbranded", "generic", "无", "no brand")
_PREPARED_KEYS = ("storage", "memory", "colour", "size", "pack", "volume", "weight")


class Row(NamedTuple):
    """One prepared offer (what ``Prepared`` and ``Identity`` hold that is not derived from ``norm``)."""

    norm: str
    codes: frozenset[str]
    desc_codes: frozenset[str]
    gtin: str | None
    brand: str | None
    attrs: tuple[tuple[str, str], ...]
    """``Prepared.attrs`` items, in their order."""
    kv: tuple[tuple[str, str], ...]
    price: float | None
    category: str | None
    desc: str
    mpn: str | None
    id_brand: str | None
    id_numbers: tuple[str, ...]
    id_variant: tuple[tuple[str, int], ...]
    id_latin: frozenset[str]
    id_cjk: frozenset[str]
    id_condensed: str
    id_attrs: tuple[tuple[str, str], ...]


def materialise(key: str, marketplace: str, row: Row) -> tuple[Prepared, Identity]:
    seq = row.norm.split()
    tokens = frozenset(seq)
    numbers = frozenset(t for t in tokens if _has_digit(t))
    prepared = Prepared(
        key=key,
        marketplace=marketplace,
        norm=row.norm,
        tokens=tokens,
        condensed="".join(seq),
        bounds=frozenset(accumulate(map(len, seq), initial=0)),
        codes=row.codes,
        desc_codes=row.desc_codes,
        gtin=row.gtin,
        brand=row.brand,
        attrs=dict(row.attrs),
        kv=dict(row.kv),
        numbers=numbers,
        bare_numbers=frozenset(t for t in numbers if t.isdigit()),
        variant_words=tokens & VARIANT_WORDS,
        price=row.price,
        category=row.category,
        desc=row.desc,
        mpn=row.mpn,
    )
    return prepared, _identity(row)


class GroupMember(NamedTuple):
    """What grouping reads of an offer (:class:`matching.grouping.Member`): grouping builds every offer of a
    large match once more, and a whole ``Prepared`` costs several times this."""

    key: str
    marketplace: str
    attrs: dict[str, str]
    bare_numbers: frozenset[str]


def group_member(key: str, marketplace: str, row: Row) -> tuple[GroupMember, Identity]:
    """The :class:`GroupMember` and ``Identity`` of a row (the same values :func:`materialise` gives)."""
    bare = frozenset(t for t in row.norm.split() if t.isdigit())
    return GroupMember(key, marketplace, dict(row.attrs), bare), _identity(row)


def _identity(row: Row) -> Identity:
    return Identity(
        brand=row.id_brand,
        gtin=row.gtin,
        numbers=row.id_numbers,
        variant=row.id_variant,
        latin=row.id_latin,
        cjk=row.id_cjk,
        codes=row.codes,
        condensed=row.id_condensed,
        attrs=row.id_attrs,
    )


_DIGITS: dict[str, bool] = {}


def _has_digit(token: str) -> bool:
    got = _DIGITS.get(token)
    if got is None:
        got = _DIGITS[token] = any(c.isdigit() for c in token)
    return got


# ------------------------------------------------------------------ column passes


def codes_column(folded: Column, n: int) -> list[frozenset[str]]:
    """:func:`matching.attributes.model_codes` of every (folded) text."""
    return [frozenset(c for c in map(_code, _CODE_RE.findall(t)) if c) for t in folded.map(str.lower).texts()]


_CODES: dict[str, str] = {}


def _code(raw: str) -> str:
    """The model code a raw token is, or ''."""
    got = _CODES.get(raw)
    if got is None:
        code = re.sub(r"[-/.]", "", raw)
        has_digit = any(c.isdigit() for c in code)
        has_alpha = any(c.isalpha() for c in code)
        ok = (
            has_digit
            and 4 <= len(code) <= 24
            and (has_alpha or (len(code) >= 5 and "." not in raw))
            and not (_NOT_CODE.match(code) or _NOT_CODE.match(raw) or _specs_only(raw))
        )
        got = _CODES[raw] = code if ok else ""
    return got


def variant_column(folded: Column, n: int) -> list[dict[str, str]]:
    """:func:`matching.attributes.variant_attributes` of every (folded) title."""
    marketing = strip_marketing_column(folded)
    unitised = units_column(marketing).map(str.lower)
    lowered = marketing.map(str.lower)
    ram, storage = unitised.matches(_RAM, n), unitised.matches(_STORAGE_GB, n)
    vol, wgt = unitised.matches(_VOL, n), unitised.matches(_WGT, n)
    packs, colours = [pack_count(t) for t in lowered.texts()], lowered.matches(_COLOUR_RE, n)
    shoe, cloth = marketing.matches(_SHOE, n), marketing.matches(_CLOTH, n)
    out = []
    for k in range(n):
        attrs: dict[str, str] = {}
        capacity(attrs, ram[k], storage[k])
        for key, found in (("volume", vol[k]), ("weight", wgt[k])):
            if found and (key == "volume" or float(found[0].group(1)) >= 10):
                attrs[key] = _num(float(found[0].group(1)))
        pack = packs[k]
        if pack:
            attrs["pack"] = pack
        if colours[k]:
            attrs["colour"] = "/".join(sorted({COLOURS[m.group(0)] for m in colours[k]}))
        size = shoe[k] or cloth[k]
        if size:
            attrs["size"] = (size[0].group(1) or size[0].group(2) or "").lower()
        out.append(attrs)
    return out


def identity_column(
    folded: Column, n: int, folded_attrs: list[dict[str, str]]
) -> tuple[list[str], list[dict[str, str]], list[list[str]]]:
    """Of every (folded) title, what :func:`matching.identity.identity_of` reads: the text with ``100G``
    as grams, its variant attributes (with ``6 x 500ml`` packs), and its identity tokens.
    ``folded_attrs``: the variant attributes of ``folded`` (only titles the grams change are read again)."""
    raw = folded.sub(_LONE_G, lambda m: _fix_grams(m.group(0)))
    attrs = list(folded_attrs)
    raw_texts = raw.texts()
    changed = [k for k, (a, b) in enumerate(zip(raw_texts, folded.texts(), strict=True)) if a != b]
    if changed:
        again = variant_column(Column([raw_texts[k] for k in changed]), len(changed))
        for k, read in zip(changed, again, strict=True):
            attrs[k] = read
    for k, six in enumerate(raw.matches(_SIX_X, n)):
        if "pack" not in attrs[k] and six and 1 < int(six[0].group(1)) <= 500:
            attrs[k] = {**attrs[k], "pack": six[0].group(1)}
    text = strip_marketing_column(raw).sub(_CAMEL, " ").sub(_PLUS, " plus")
    texts = (
        aliases_column(units_column(text).map(str.lower)).sub(_STRIP, " ").sub(_COLOUR_PHRASE, " ").texts()
    )
    return texts, attrs, [_TOKEN.findall(t) for t in texts]


_TitleFields = tuple[str, frozenset[str], dict[str, str], dict[str, str], list[str], str | None]


def prepare_rows(records: Sequence[OfferRecord], cjk: str = "bigram") -> list[Row]:
    """Every record prepared (:func:`matching.prepare.prepare` + :func:`matching.identity.identity_of`),
    as compact rows; equal small values are shared. Each distinct title is read once, and each distinct
    title + brand + MPN + stated attributes made into row fields once (shops and marketplaces repeat
    titles). The garbage collector is paused meanwhile: preparing makes millions of small objects and no
    reference cycle, and the collector's passes over every live object (the records, the rows made so
    far) cost more than the preparing itself."""
    if not records:
        return []
    with gc_paused():
        index: dict[str, int] = {}
        which = [index.setdefault(r.title, len(index)) for r in records]
        maker = _RowMaker(_title_fields(list(index), cjk))
        return [maker.row(record, t) for record, t in zip(records, which, strict=True)]


class _RowMaker:
    """Rows from the fields of their distinct titles, with what repeats across records computed once."""

    def __init__(self, titles: list[_TitleFields]) -> None:
        self.titles = titles
        self.shared: dict[Any, Any] = {}
        self.derived: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self.gtins: dict[str | None, str | None] = {}
        self.descriptions: dict[str | None, tuple[frozenset[str], str]] = {}

    def row(self, record: OfferRecord, title: int) -> Row:
        stated = canonical_attributes(record.attributes) if record.attributes else {}
        key = (title, record.brand, record.mpn, tuple(stated.items()))
        fields = self.derived.get(key)
        if fields is None:
            fields = self.derived[key] = _derived_fields(self.titles[title], record, stated, self.shared)
        gtin = record.gtin or stated.get("gtin")
        if gtin not in self.gtins:
            canonical = canonical_gtin(gtin)
            self.gtins[gtin] = self.shared.setdefault(canonical, canonical)
        desc = self.descriptions.get(record.description)
        if desc is None:
            desc = self.descriptions[record.description] = _description_fields(
                record.description, self.shared
            )
        norm, codes, brand, attrs, kv, mpn, *identity = fields
        category = self.shared.setdefault(record.category, record.category)
        return Row(
            norm,
            codes,
            desc[0],
            self.gtins[gtin],
            brand,
            attrs,
            kv,
            record.price,
            category,
            desc[1],
            mpn,
            *identity,
        )


def _title_fields(titles: list[str], cjk: str) -> list[_TitleFields]:
    """What a row takes from its title alone: the normalised title, model codes, variant attributes, and
    the identity's attributes, tokens and brand found in the text."""
    n = len(titles)
    folded = fold_column(titles)
    norms = normalise_column(folded, cjk)
    codes = codes_column(folded, n)
    attrs = variant_column(folded, n)
    id_texts, id_attrs, id_tokens = identity_column(folded, n, attrs)
    id_brand_found = [_first(_BRAND_RE.search(t)) for t in id_texts]
    return list(zip(norms, codes, attrs, id_attrs, id_tokens, id_brand_found, strict=True))


def _first(found: re.Match[str] | None) -> str | None:
    return found.group(0) if found else None


def _shareable(value: object) -> bool:
    return isinstance(value, (tuple, frozenset)) or (isinstance(value, str) and len(value) < 24)


def _derived_fields(
    title: _TitleFields, record: OfferRecord, stated: dict[str, str], shared: dict[Any, Any]
) -> tuple[Any, ...]:
    """The row fields that depend on the title, the stated brand, MPN and attributes: ``norm``, ``codes``,
    ``brand``, ``attrs``, ``kv``, ``mpn`` and the identity's fields (equal small values shared)."""
    norm, title_codes, title_attrs, id_attrs, id_tokens, id_brand_found = title
    found = set(title_codes)
    mpn = record.mpn or stated.get("mpn")
    if mpn:
        found |= model_codes(mpn) or {"".join(ch for ch in mpn.lower() if ch.isalnum())}
    found.discard("")
    attrs = {**title_attrs, **{k: v for k, v in stated.items() if k in _PREPARED_KEYS}}
    brand = canonical_brand(record.brand or stated.get("brand"))
    if brand in _JUNK_BRANDS:
        brand = None
    if brand is None:
        brand = next((KNOWN_BRANDS[t] for t in norm.split()[:3] if t in KNOWN_BRANDS), None)
    fields = (
        norm,
        frozenset(found),
        brand,
        tuple(attrs.items()),
        tuple((k, v) for k, v in stated.items() if k not in ("brand", "gtin")),
        squashed_mpn(mpn),
        *_identity_fields(brand, id_brand_found, id_tokens, stated, id_attrs),
    )
    return tuple(shared.setdefault(v, v) if _shareable(v) else v for v in fields)


def _description_fields(description: str | None, shared: dict[Any, Any]) -> tuple[frozenset[str], str]:
    """``desc_codes`` and ``desc`` of a description."""
    codes = model_codes(description) if description else frozenset()
    desc = _condense(description)
    return shared.setdefault(codes, codes), shared.setdefault(desc, desc) if len(desc) < 24 else desc


def _identity_fields(
    brand: str | None, found: str | None, tokens: list[str], stated: dict[str, str], attrs: dict[str, str]
) -> tuple[Any, ...]:
    attrs = {**attrs, **{k: v for k, v in stated.items() if k in _PREPARED_KEYS}}
    if "pack" not in attrs and ("volume" in attrs or "weight" in attrs):
        attrs["pack"] = "1"
    if brand is None and found:
        brand = _BRAND_NAMES[found]
    brand_words = _BRAND_WORDS.get(brand or "", frozenset()) | {brand or ""}
    variant = Counter(t for t in tokens if t in IDENTITY_VARIANT_WORDS)
    words = [
        t
        for t in tokens
        if not t[0].isdigit() and t not in IDENTITY_VARIANT_WORDS and t not in _STOP and t not in brand_words
    ]
    return (
        brand,
        tuple(t for t in tokens if t[0].isdigit()),
        tuple(sorted(variant.items())),
        frozenset(t for t in words if t.isascii()),
        frozenset(t for t in words if not t.isascii()),
        "".join(t for t in tokens if t.isascii() and t.isalpha() and t not in brand_words),
        tuple(sorted(attrs.items())),
    )


# ------------------------------------------------------------------ rows kept between matches

_SOURCES = ("normalise", "attributes", "identity", "patterns", "prepare", "columns", "bulk", "blocking")
PREPARE_VERSION = hashlib.sha1(
    b"".join(Path(__file__).with_name(f"{m}.py").read_bytes() for m in _SOURCES) + sys.version.encode()
).hexdigest()[:12]
"""Changes with the code that prepares rows and keys (and the Python that pickles them): rows kept from a
match with another version are not used."""


def row_blob(row: Row) -> bytes:
    """A row as bytes (pickle: exact for these types, and faster to read back than marshal here)."""
    return pickle.dumps(tuple(row), protocol=5)


def row_from_blob(blob: bytes) -> Row:
    return Row(*pickle.loads(blob))
