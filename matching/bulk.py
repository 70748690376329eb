"""Column-at-a-time text passes: each regex of the normaliser runs once over a whole column of texts.

The texts are joined with a NUL separator (``fold`` turns a NUL in a text into a space, so none is left
inside a text) and every pass — NFKC, marketing words, units, brand and colour aliases, splitting glued
models, finding model codes — is one call into the regex engine (C) over the joined column, not one per
record; only the matches call back into Python. Patterns never match a NUL (``\\s`` does not, bracket
classes exclude it, and the lookarounds treat it like the end of a text), so a pass over the column gives
each text exactly what the same pass gives it alone — ``tests/test_matching_bulk.py`` checks this against
the per-record functions on demo and benchmark titles. Tokens, which repeat across records, are
segmented once per distinct token.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache

from .normalise import (
    _ALIAS_CJK_RE,
    _ALIAS_LATIN_RE,
    _BRACKETED_MARKETING,
    _CAMEL,
    _CJK,
    _CJK_RUN,
    _CJK_SPLIT,
    _LETTER_DIGIT,
    _PLUS,
    _STOP_RE,
    LATIN_STOP_WORDS,
    _alias,
    _latin_tokens,
    segment_cjk,
)

SEP = "\x00"
_NON_WORD = re.compile(rf"[^0-9a-z{_CJK}.+\x00]+")


@lru_cache(maxsize=1)
def _combining() -> dict[int, None]:
    """Every character with a non-zero canonical combining class (what ``fold`` drops after NFKD), for
    ``str.translate``."""
    return {c: None for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c))}


class Column:
    """Texts joined by :data:`SEP`, transformed pass by pass."""

    def __init__(self, texts: Sequence[str] | str) -> None:
        self.text = texts if isinstance(texts, str) else SEP.join(texts)

    def sub(self, pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str]) -> Column:
        return Column(pattern.sub(repl, self.text))

    def map(self, f: Callable[[str], str]) -> Column:
        """A transformation that works character by character (``str.lower``, NFKC)."""
        return Column(f(self.text))

    def texts(self) -> list[str]:
        return self.text.split(SEP)

    def matches(self, pattern: re.Pattern[str], n: int) -> list[list[re.Match[str]]]:
        """``pattern.finditer`` of each of the ``n`` texts (positions are the column's)."""
        starts = [0]
        starts.extend(m.end() for m in re.finditer(SEP, self.text))
        out: list[list[re.Match[str]]] = [[] for _ in range(n)]
        for m in pattern.finditer(self.text):
            out[bisect_right(starts, m.start()) - 1].append(m)
        return out


def fold_column(texts: Sequence[str | None]) -> Column:
    """:func:`matching.normalise.fold` of every text."""
    col = Column([(t or "").replace(SEP, " ") for t in texts]).map(lambda t: unicodedata.normalize("NFKC", t))
    if not col.text.isascii():
        col = col.map(lambda t: unicodedata.normalize("NFKD", t).translate(_combining()))
        col = col.map(lambda t: unicodedata.normalize("NFKC", t))
    return Column([" ".join(t.split()) for t in col.texts()])


def strip_marketing_column(col: Column) -> Column:
    return col.sub(_BRACKETED_MARKETING, " ").sub(_STOP_RE, " ")


def units_column(col: Column) -> Column:
    """:func:`matching.normalise.canonical_units` of every text."""
    from .normalise import _STORAGE, _VOLUME, _WEIGHT, _storage, _volume, _weight

    return col.sub(_STORAGE, _storage).sub(_VOLUME, _volume).sub(_WEIGHT, _weight)


def normalise_titles(titles: Sequence[str | None], cjk: str = "bigram") -> list[str]:
    """:func:`matching.normalise.normalise_title` of every title."""
    return normalise_column(fold_column(titles), cjk)


def normalise_column(folded: Column, cjk: str) -> list[str]:
    """:func:`matching.normalise.normalise_title` of every text of an already folded column."""
    col = strip_marketing_column(folded).sub(_CAMEL, " ").sub(_LETTER_DIGIT, " ").sub(_PLUS, " plus")
    tokens = tokens_column(aliases_column(units_column(col).map(str.lower)), cjk)
    again = units_column(Column([" ".join(t) for t in tokens])).texts()
    out = []
    for toks, redo in zip(tokens, again, strict=True):
        split = redo.split()
        if split != toks:  # tokenising dropped punctuation between a number and its unit ('0:L' → '0 l')
            toks = tokens_column(Column(" ".join(split)), cjk)[0]
        out.append(" ".join(toks))
    return out


def aliases_column(col: Column) -> Column:
    """:func:`matching.normalise.aliases` of every text."""
    col = col.sub(_ALIAS_LATIN_RE, _alias)
    return col.sub(_ALIAS_CJK_RE, _alias) if not col.text.isascii() else col


def tokens_column(col: Column, cjk: str) -> list[list[str]]:
    """:func:`matching.normalise.tokens_of` of every text; each distinct raw token is segmented once."""
    raw = col.map(lambda t: t.replace("'", "")).sub(_NON_WORD, " ").texts()
    segment = _segmenter(cjk)
    return [[t for piece in text.split() for t in segment(piece)] for text in raw]


@lru_cache(maxsize=4)
def _segmenter(cjk: str) -> Callable[[str], tuple[str, ...]]:
    @lru_cache(maxsize=1 << 18)
    def segment(raw: str) -> tuple[str, ...]:
        raw = raw.strip(".+")
        out: list[str] = []
        for piece in _CJK_SPLIT.split(raw) if raw else ():
            if not piece:
                continue
            out.extend(segment_cjk(piece, cjk) if _CJK_RUN.fullmatch(piece) else _latin_tokens(piece))
        return tuple(t for t in out if t not in LATIN_STOP_WORDS)

    return segment


def chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(start + size, n))
