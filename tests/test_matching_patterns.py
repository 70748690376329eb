"""The preparing regexes are written in a form the regex engine scans fast (``matching.patterns``); each
must find exactly what its plain form finds — same spans, same groups — on any text."""

from __future__ import annotations

import random
import re

import pytest

from demo.records import listing_records
from matching import attributes, identity, normalise
from matching.normalise import _ALIASES_BY_LEN, BRAND_ALIASES, COLOURS
from matching.patterns import first_char_alternation

_PACK_UNIT = "瓶装|罐装|听装|支装|袋装|包装|盒装|瓶|罐|听|支|袋|包|盒|片|只|件套|件"
_ASCII_COLOURS = sorted(
    {re.escape(c) for c in [*COLOURS, *COLOURS.values()] if c.isascii()}, key=len, reverse=True
)
_BRAND_NAMES = {a: b for a, b in BRAND_ALIASES.items() if a.isascii()} | {
    b: b for b in BRAND_ALIASES.values()
}


def _aliases(keep) -> str:  # type: ignore[no-untyped-def]
    return "|".join(
        rf"\b{re.escape(k)}\b" if k.isascii() else re.escape(k) for k, _ in _ALIASES_BY_LEN if keep(k)
    )


PLAIN: dict[str, tuple[re.Pattern[str], str, int]] = {
    "_STORAGE": (
        normalise._STORAGE,
        r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*(TB|T|GB|G|MB|(?:tera|giga|mega)bytes?)(?![a-zA-Z0-9])",
        re.I,
    ),
    "_VOLUME": (
        normalise._VOLUME,
        r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*(ml|毫升|l|升|litre|liter|litres|liters|fl\.? ?oz)(?![a-z])",
        re.I,
    ),
    "_WEIGHT": (
        normalise._WEIGHT,
        r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*(kilograms?|kg|千克|公斤|grams?|g|克|pounds?|lbs?|ounces?|oz)(?![a-z])",
        re.I,
    ),
    "_PLUS": (normalise._PLUS, r"(?<=[0-9A-Za-z])\+(?![0-9A-Za-z])", 0),
    "_ALIAS_RE": (normalise._ALIAS_RE, _aliases(lambda k: True), 0),
    "_ALIAS_LATIN_RE": (normalise._ALIAS_LATIN_RE, _aliases(lambda k: k[0].isascii()), 0),
    "_ALIAS_CJK_RE": (normalise._ALIAS_CJK_RE, _aliases(lambda k: not k[0].isascii()), 0),
    "_CODE": (attributes._CODE, r"(?<![0-9a-z])([a-z0-9]+(?:[-/.][a-z0-9]+)*)(?![0-9a-z])", 0),
    "_STORAGE_GB": (
        attributes._STORAGE_GB,
        (
            r"(?<![\d.+])(\d+(?:\.\d+)?)(gb|tb)(?![a-z])"
            r"(?!\s*(?:ram(?:kit)?(?![a-z])|memory(?![a-z])(?!\s*(?:card|stick|expansion))|内存|运行内存))"
        ),
        0,
    ),
    "_VOL": (attributes._VOL, r"(\d+(?:\.\d+)?)ml(?![a-z])", 0),
    "_WGT": (attributes._WGT, r"(?<![\d.])(\d+(?:\.\d+)?)g(?![a-z])", 0),
    "_COLOUR_RE": (
        attributes._COLOUR_RE,
        "|".join(re.escape(k) for k in sorted(COLOURS, key=len, reverse=True) if not k.isascii())
        + r"|\b(?:"
        + "|".join(re.escape(k) for k in sorted(COLOURS, key=len, reverse=True) if k.isascii())
        + r")\b",
        0,
    ),
    "_LONE_G": (identity._LONE_G, r"(?<![\d.])(\d+)\s*G(?![a-zA-Z])", 0),
    "_SIX_X": (identity._SIX_X, r"(?<![\d.])(\d+)\s*x\s+\d[\d.]*\s*(?:ml|l|g|kg|sticks?)(?![a-z])", re.I),
    "_STRIP": (
        identity._STRIP,
        "|".join(
            [
                r"\b20\d\d\s+new\b",
                r"(?<![a-z0-9])[345]g(?![a-z0-9])",
                r"\d+(?:\.\d+)?\s*(?:gb|tb|mb)(?:\s*(?:ram|ssd|rom))?",
                r"\d+(?:\.\d+)?\s*(?:ml|g|mah)(?![a-z])",
                r"(?:pack|set)\s*of\s*\d+",
                r"\d+\s*-?\s*(?:pack|pk|pcs|pieces|count|ct)(?![a-z])",
                r"(?<![a-z0-9])x\s+\d+(?![\d.]*\s*(?:ml|g))",
                rf"[×*]\s*\d+(?:{_PACK_UNIT})?",
                r"\d+\s*x(?=\s+\d)",
                rf"\d+\s*(?:{_PACK_UNIT})",
                r"\b(?:eu|eur|us|uk|size)\s*:?\s*\d{1,2}(?:\.5)?\b",
                r"\d{2}(?:\.5)?\s*码",
                r"\bsingle\b",
            ]
        ),
        0,
    ),
    "_COLOUR_PHRASE": (identity._COLOUR_PHRASE, r"\b(?:" + "|".join(_ASCII_COLOURS) + r")\b", 0),
    "_BRAND_RE": (
        identity._BRAND_RE,
        r"(?<![a-z0-9])(?:"
        + "|".join(re.escape(k) for k in sorted(_BRAND_NAMES, key=len, reverse=True))
        + r")(?![a-z0-9])",
        0,
    ),
}

_PIECES = [
    [*(k for k, _ in _ALIASES_BY_LEN), *COLOURS, *_BRAND_NAMES],
    [*"0123456789", "2024", "256", "1.5", "10", "42", "6", "500", "4", "5", "3.5"],
    [
        *"0123456789",
        "6 x 500ml",
        "12 x 330 ml",
        "3x 1.5l",
        " x ",
        "x 24",
        "2024 new",
        "size: 42",
        "EU 42",
        "42码",
        "pack of 6",
        "6-pack",
    ],
    [*("16GB+512GB", "8G/256G", "100G", "1.5L", "330ml", "4G", "5G", "500g", "12罐装", "8gb ram", "500ml")],
    [
        *(
            "ml",
            "gb",
            "TB",
            "G",
            "T",
            "MB",
            "kg",
            "g",
            "lbs",
            "oz",
            "fl oz",
            "fl.oz",
            "litre",
            "l",
            "mah",
            "ram",
            "ramkit",
            "ramen",
            "memory",
            "memory card",
            "Terabyte",
            "gigabytes",
            "Gram",
            "grams",
            "kilograms",
            "Pounds",
            "ounce",
        )
    ],
    [*("ssd", "rom", "pack", "pk", "pcs", "pieces", "count", "ct", "set", "of", "eu", "eur", "us", "uk")],
    [
        *(
            "size",
            "single",
            "new",
            "sticks",
            "x",
            "X",
            "×",
            "*",
            "毫升",
            "千克",
            "公斤",
            "运行内存",
            "运存",
            "码",
        )
    ],
    [*"  ..-/+:_xXgGtTbBmMlLkKsSeEuUrRpPiIzZnNaAoOcCwWé码克升瓶装罐内存件套ſKıİ\x00"],
]


def _fuzz_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    seps = ["", "", " ", " ", "-", ".", "/", "+"]
    return [
        "".join(rng.choice(rng.choice(_PIECES)) + rng.choice(seps) for _ in range(rng.randint(1, 12)))
        for _ in range(count)
    ]


def _found(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    titles = [r.title for r in listing_records(1500, 5)[0]]
    folded = [normalise.fold(t) for t in titles]
    fuzz = _fuzz_texts(11, 4000)
    out = fuzz + [t.lower() for t in fuzz] + titles + folded + [t.lower() for t in folded]
    return out + ["\x00".join(out[k : k + 50]) for k in range(0, len(out), 50)]


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_fast_form_finds_what_the_plain_form_finds(name: str, texts: list[str]) -> None:
    fast, plain, flags = PLAIN[name]
    reference = re.compile(plain, flags)
    assert fast.flags == reference.flags
    differ = [t for t in texts if _found(fast, t) != _found(reference, t)]
    assert not differ, f"{name} differs on {differ[:3]!r}"


def test_the_texts_reach_every_pattern(texts: list[str]) -> None:
    """Every pattern matches many of the texts (else the comparison above would prove little)."""
    for name, (fast, _, _) in PLAIN.items():
        assert sum(1 for t in texts if fast.search(t)) > 100, name


def test_first_char_alternation_groups_in_order_and_checks_word_boundaries() -> None:
    pattern = first_char_alternation([("a", r"\w", "b\\b"), ("c", "", "d"), ("a", "", "bc")])
    assert pattern == r"a(?:(?<!\wa)b\b|bc)|cd"
    assert re.findall(pattern, "ab xab abc cd") == ["ab", "abc", "cd"]
    with pytest.raises(ValueError, match="not a word character"):
        first_char_alternation([("-", r"\w", "x")])
