"""Stage 2 — identifiers and variant attributes.

Identifiers: GTIN-8/12/13/14 (check digit validated; a UPC-A is the same GTIN as its EAN-13 with a
leading zero), model numbers / MPNs even when glued to text (``am53bk``, ``WH-1000XM5``,
``iPhone15ProMax``). Variant attributes, each a canonical string so equal means equal: storage (GB),
memory (GB), colour (one English set), size, pack count, volume (ml), weight (g).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .normalise import COLOURS, canonical_units, fold, strip_marketing
from .patterns import WORD, first_char_alternation

VARIANT_KEYS: tuple[str, ...] = ("storage", "memory", "colour", "size", "pack", "volume", "weight")

# ------------------------------------------------------------------ GTIN


def gtin_check_ok(digits: str) -> bool:
    """GS1 mod-10 check digit of a GTIN-8/12/13/14."""
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def canonical_gtin(value: str | None) -> str | None:
    """Digits only, validated, zero-padded to GTIN-14 (so UPC-A 0123… equals EAN-13 00123…)."""
    if not value:
        return None
    digits = re.sub(r"\D", "", str(value))
    if not gtin_check_ok(digits):
        return None
    return digits.zfill(14)


# ------------------------------------------------------------------ model numbers

_CODE = re.compile(r"([a-z0-9](?<![0-9a-z][a-z0-9])[a-z0-9]*(?:[-/.][a-z0-9]+)*)(?![0-9a-z])")
"""A run of letters and digits (maybe joined by ``-/.``) not glued to another; the lookbehind after the first
character: :mod:`matching.patterns`."""
_NOT_CODE = re.compile(
    r"^(?:\d+(?:\.\d+)?(?:gb|tb|mb|ml|l|g|kg|mg|mah|w|kw|mm|cm|m|in|inch|hz|khz|mhz|ghz|mp|k|p|v|pcs|"
    r"pack|x|st|nd|rd|th|oz|lb|lbs|ft|yd|fps|bit|gen|d|s)|(?:19|20)\d\d|[a-z]+\d(?:\.\d)?|"
    r"usb\d.*|ddr\d.*|lpddr\d.*|pcie\d.*|wifi\d.*|hdmi\d.*|h\d{3}|x\d+|\d+x|v\d+|win\d+|ipx?\d|ip\d\d)$"
)


def _specs_only(raw: str) -> bool:
    """``8g/512g``, ``70-200mm``: specifications joined by a separator, not one model code."""
    parts = [p for p in re.split(r"[-/.]", raw) if p]
    return len(parts) > 1 and all(p.isdigit() or _NOT_CODE.match(p) for p in parts)


def model_codes(text: str) -> frozenset[str]:
    """Tokens that look like model numbers: letters and digits mixed (or ≥5 digits), separators dropped.

    ``Bose AM53BK`` → ``am53bk``; ``WH-1000XM5`` → ``wh1000xm5``; ``iPhone15ProMax`` → ``iphone15promax``.
    Units (``256gb``), years, and generic specs (``usb3``, ``1080p``) are not codes.
    """
    out: set[str] = set()
    for m in _CODE.finditer(fold(text).lower()):
        raw = m.group(1)
        code = re.sub(r"[-/.]", "", raw)
        has_digit = any(c.isdigit() for c in code)
        has_alpha = any(c.isalpha() for c in code)
        if not has_digit or len(code) < 4 or len(code) > 24:
            continue
        if not has_alpha and (len(code) < 5 or "." in raw):
            continue
        if _NOT_CODE.match(code) or _NOT_CODE.match(raw) or _specs_only(raw):
            continue
        out.add(code)
    return frozenset(out)


# ------------------------------------------------------------------ variant attributes

_MEMORY_WORD = r"(?:ram(?:kit)?(?![a-z])|memory(?![a-z])(?!\s*(?:card|stick|expansion))|内存|运行内存)"
"""What follows a RAM size: ``16GB RAM``, ``16GB RAMKit``, ``16 GB Memory`` (not a ``Memory Card``), ``8G运行内存``
(not ``80g ramen``)."""
_RAM = re.compile(
    rf"(\d+)\s*gb?\s*{_MEMORY_WORD}|(?:ram|内存|运存)\s*(\d+)\s*gb?"
    r"|(\d+)\s*gb?\s*[+/]\s*(\d+(?:\.\d+)?)\s*(gb|tb)",
    re.I,
)
_STORAGE_GB = re.compile(rf"(\d(?<![\d.+]\d)\d*+(?:\.\d++)?+)(gb|tb)(?![a-z])(?!\s*{_MEMORY_WORD})")
_PACK_UNITS = "瓶装|罐装|听装|支装|袋装|包装|盒装|瓶|罐|听|支|袋|包|片|只|件套|件"
_PACK_WORDS = re.compile(
    rf"(\d+)\s*(?:-?\s*pack|pk|pcs|pieces|count|ct|{_PACK_UNITS})(?![a-z])|(?:pack|set)\s*of\s*(\d+)", re.I
)
"""A stated count: ``450 pack``, ``6-Pack``, ``12罐装``, ``Pack of 12``."""
_PACK_TIMES = re.compile(r"(?:\bx|×|\*)\s*(\d+)(?![\d.]*\s*(?:ml|g|gb|mm|cm|kg|l(?![a-z])|sticks?|条))", re.I)
"""A count by a sign: ``330ml x 24``, ``×6``, ``*12`` (read only when no count is stated in words)."""
_DIMENSION = re.compile(
    r"(?<![\w.])\d++(?:[./-]\d++)*+\s*(?:\"|'|in(?:ch(?:es)?)?\b|cm|mm|ft|m\b)?\s*[x×*]\s*\d++(?:[./-]\d++)*+"
    r"(?!\s*(?:ml|g|kg|l|oz|lbs?|gb|tb)(?![a-z]))(?:\s*[x×*]\s*\d++(?:[./-]\d++)*+)?",
    re.I,
)
"""Sizes written number × number (``2/3 x 3-7/16``, ``12 x 18 inch``): not a pack count."""
_MAX_STORAGE_GB = 128 * 1024
"""Larger 'storage' is a misread model code (``7274t``), not a drive."""
_VOL = re.compile(r"(\d++(?:\.\d++)?+)ml(?![a-z])")
_WGT = re.compile(r"(\d(?<![\d.]\d)\d*+(?:\.\d++)?+)g(?![a-z])")
_SHOE = re.compile(
    r"(?:(?:\b(?:eu|eur|us|uk|size|sz)|尺码|码数|鞋码)\s*:?\s*(\d{1,2}(?:\.5)?)|(\d{2}(?:\.5)?)\s*码)", re.I
)
_CLOTH = re.compile(r"(?:size|尺码)\s*:?\s*(xxs|xs|s|m|l|xl|xxl|xxxl|[2-5]xl)\b", re.I)
_COLOUR_RE = re.compile(
    first_char_alternation(
        (k[0], WORD if k.isascii() else "", re.escape(k[1:]) + (r"\b" if k.isascii() else ""))
        for k in sorted(COLOURS, key=lambda k: (k.isascii(), -len(k)))
    )
)
"""Colour words, longest first; the English ones whole words."""

ATTRIBUTE_KEY_ALIASES: dict[str, str] = {
    "color": "colour",
    "colour": "colour",
    "颜色": "colour",
    "颜色分类": "colour",
    "机身颜色": "colour",
    "storage": "storage",
    "capacity": "storage",
    "存储容量": "storage",
    "机身内存": "storage",
    "容量": "volume",
    "memory": "memory",
    "ram": "memory",
    "运行内存": "memory",
    "size": "size",
    "尺码": "size",
    "尺寸": "size",
    "鞋码": "size",
    "pack": "pack",
    "pack size": "pack",
    "count": "pack",
    "件数": "pack",
    "volume": "volume",
    "净含量": "volume",
    "weight": "weight",
    "重量": "weight",
    "mpn": "mpn",
    "model": "mpn",
    "型号": "mpn",
    "货号": "mpn",
    "款号": "mpn",
    "brand": "brand",
    "品牌": "brand",
    "gtin": "gtin",
    "barcode": "gtin",
    "ean": "gtin",
    "upc": "gtin",
    "条形码": "gtin",
}


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def colours_in(text: str) -> frozenset[str]:
    return frozenset(COLOURS[m.group(0)] for m in _COLOUR_RE.finditer(text.lower()))


def variant_attributes(title: str) -> dict[str, str]:
    """Variant attributes stated in a title, canonical values (``{"storage": "256", "colour": "black"}``)."""
    folded = strip_marketing(fold(title))
    unitised = canonical_units(folded).lower()
    out: dict[str, str] = {}
    ram = _RAM.search(unitised)
    capacity(out, [ram] if ram else [], _STORAGE_GB.finditer(unitised))
    for key, regex in (("volume", _VOL), ("weight", _WGT)):
        found = regex.search(unitised)
        if found and (key == "volume" or float(found.group(1)) >= 10):  # '5g' is a network, not 5 grams
            out[key] = _num(float(found.group(1)))
    count = pack_count(folded.lower())
    if count:
        out["pack"] = count
    colours = colours_in(folded)
    if colours:
        out["colour"] = "/".join(sorted(colours))
    size = _SHOE.search(folded) or _CLOTH.search(folded)
    if size:
        out["size"] = (size.group(1) or size.group(2) or "").lower()
    return out


def capacity(attrs: dict[str, str], ram: Sequence[re.Match[str]], storage: Iterable[re.Match[str]]) -> None:
    """``memory`` and ``storage`` into ``attrs`` from the first RAM match and the storage matches of a
    (unit-canonical, lower-cased) title. A size before ``memory`` is RAM only beside a storage size
    (``32 GB Memory 512 GB``): alone (``Kingston 16GB DDR4 Memory``) it stays the one capacity stated."""
    if ram:
        m = ram[0]
        attrs["memory"] = next(g for g in (m.group(1), m.group(2), m.group(3)) if g)
        if m.group(4):
            attrs["storage"] = _num(float(m.group(4)) * (1024 if m.group(5).lower() == "tb" else 1))
    if "storage" not in attrs:
        for found in storage:
            gb = float(found.group(1)) * (1024 if found.group(2) == "tb" else 1)
            if ("memory" in attrs and _num(gb) == attrs["memory"]) or gb > _MAX_STORAGE_GB:
                continue
            attrs["storage"] = _num(gb)
            break
    if ram and "storage" not in attrs and "memory" in ram[0].group(0):
        attrs["storage"] = attrs.pop("memory")


def pack_count(text: str) -> str | None:
    """The pack count a (folded, lower-cased) title states: in words first (``450 pack``), else by a sign
    (``x 24``) once sizes written ``a x b`` are set aside; 2–1000, else none."""
    found = _PACK_WORDS.search(text) or _PACK_TIMES.search(_DIMENSION.sub(" ", text))
    if not found:
        return None
    count = int(next(g for g in found.groups() if g))
    return str(count) if 1 < count <= 1000 else None


def canonical_attributes(attributes: dict[str, str] | None) -> dict[str, str]:
    """Shop-stated attributes with canonical keys and values (``{"颜色": "黑色"}`` → ``{"colour": "black"}``)."""
    out: dict[str, str] = {}
    for key, value in (attributes or {}).items():
        if value is None or str(value).strip() == "":
            continue
        k = ATTRIBUTE_KEY_ALIASES.get(fold(str(key)).lower().strip(), fold(str(key)).lower().strip())
        v = fold(str(value)).lower().strip()
        if k == "colour":
            cs = colours_in(v)
            v = "/".join(sorted(cs)) if cs else v
        elif k in ("storage", "memory"):
            m = _STORAGE_GB.search(canonical_units(fold(str(value))).lower())
            if m:
                v = _num(float(m.group(1)) * (1024 if m.group(2) == "tb" else 1))
        elif k in ("volume", "weight"):
            found = variant_attributes(str(value))
            v = found.get(k, v)
        elif k == "size":
            v = re.sub(r"^(?:eu|eur|size)\s*", "", v.replace("码", ""))
        elif k == "pack":  # '6 Pack' / 'Single' (shop option values) → '6' / '1'
            count = re.search(r"\d+", v)
            v = count.group(0) if count else "1" if v in ("single", "单个", "单瓶", "单罐") else v
        out[k] = v
    return out


def attribute_conflict(key: str, a: str, b: str) -> bool:
    """Do two canonical values of one variant attribute name different variants?"""
    if a == b:
        return False
    if key == "colour":
        return not (set(a.split("/")) & set(b.split("/")))
    return True
