"""Regular expressions written so that Python's regex engine can skip ahead to where they may match.

The engine (``sre``) jumps straight to the next possible start of a match only when a pattern begins with a
literal, a character class, or alternatives that each begin with a literal. A pattern that begins with
``\\b``, a lookbehind, or alternatives of another kind is tried at every position of the text — over a
column of titles, most of the preparing time. The forms built here match exactly what their plain forms
match (same spans, same groups: ``tests/test_matching_patterns.py`` compares them): a lookbehind placed
after the first character instead of before it (``c(?<!\\wc)`` is ``\\bc`` for a word character ``c``),
and alternatives grouped by their first character in their given order (at one position only the
alternatives starting with that position's character can match, and they are tried in the same order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WORD = r"\w"
"""``not_after`` of an alternative that starts at a word boundary (its first character being a word
character)."""


def first_char_alternation(alternatives: Iterable[tuple[str, str, str]]) -> str:
    """``a1|a2|…`` for alternatives ``(first, not_after, rest)``: the literal character ``first`` not
    preceded by a character of the class ``not_after`` (``""``: by anything), then the pattern ``rest``."""
    groups: dict[str, list[str]] = {}
    for first, not_after, rest in alternatives:
        if not_after == WORD and not re.fullmatch(r"\w", first):
            raise ValueError(f"{first!r} is not a word character: no word boundary before it")
        guard = f"(?<!{not_after}{re.escape(first)})" if not_after else ""
        groups.setdefault(first, []).append(guard + rest)
    return "|".join(
        re.escape(first) + (rests[0] if len(rests) == 1 else f"(?:{'|'.join(rests)})")
        for first, rests in groups.items()
    )


def words_alternation(words: Iterable[str], bounded: bool = True) -> str:
    r"""``\bw1\b|\bw2\b|…`` (``bounded``) or ``w1|w2|…`` in the first-character form."""
    return first_char_alternation(
        (w[0], WORD if bounded else "", re.escape(w[1:]) + (r"\b" if bounded else "")) for w in words
    )
