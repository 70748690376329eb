"""Product search: postings built in SQL, an in-memory inverted index, BM25 relevance, identifier look-ups.

**Index** (``build_postings``): each product is a document made of its own title, brand and category and
all its member offers' titles and brands. Text is folded (full-width → half-width, lower case); tokens
are runs of Latin letters, runs of digits, a number with its unit or model suffix (``256gb``), and for a
run of CJK characters its bigrams plus its last character. Each ``(token, pkey)`` keeps its count ``tf``.
Beside the words: ``#b:<brand>`` (whole brand), ``#c:<word>`` (each word of a category), ``#g:<GTIN-14>``
(barcodes, zero-padded: a UPC-A and its EAN-13 are one token) and ``#m:<model>`` (manufacturer part numbers
and title words mixing letters and digits, folded: ``WH-1000XM5`` → ``wh1000xm5``).

**Query** (``parse_query``): words become terms (Latin words of 2+ letters and number+unit runs match as
prefixes, numbers exactly — the last as a prefix, CJK runs by their bigrams); a word that is a brand or
category alias (``huawei``/``华为``, ``手机``/``phone``) matches any of its spellings. A code matches
``#g:``/``#m:`` (check digit validated or added; case, dashes and spaces folded). Every term must match,
an identifier match is enough on its own. Results rank by BM25 over the words, identifier hits first.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import numpy as np

_CJK = r"\x{3400}-\x{9fff}\x{f900}-\x{faff}"
_CJK_FIRST = 0x3400
TOKEN_PATTERN = rf"[a-z]+|[0-9]+|[{_CJK}]+"
UNIT_PATTERN = r"[0-9]+[a-z]+"
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
_WIDE = f"[{FULL_WIDTH[0]}-{FULL_WIDTH[-2]}{FULL_WIDTH[-1]}]"
BRAND, CATEGORY, GTIN, MODEL = "#b:", "#c:", "#g:", "#m:"
MAX_TERMS = 12
_TOKEN_RE = re.compile(r"[0-9]+[a-z]+|[a-z]+|[0-9]+|[\u3400-\u9fff\uf900-\ufaff]+")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOP = "\U0010ffff"
_K1, _B = 1.2, 0.75
ID_BONUS = 1000.0
"""Added to the score of a product found by its GTIN or model number: such hits come first."""

Range = tuple[str, str | None]
"""A token to match exactly (``(token, None)``) or a prefix range ``[low, high)``."""
Synonyms = Mapping[str, tuple[str, ...]]
"""A lower-case word → every spelling of the same brand or category (itself included)."""


def build_postings(con: duckdb.DuckDBPyConnection, table: str, docs_sql: str, *, temp: bool = False) -> None:
    """``CREATE TABLE table (token, pkey, tf)`` sorted by token then pkey, from ``docs_sql``'s rows
    ``(pkey, kind, text)``: kind ``t`` text, ``b`` brand, ``c`` category, ``g`` GTIN, ``m`` model number."""
    con.execute(
        f"""CREATE {"TEMP " if temp else ""}TABLE {table} AS
        WITH docs AS ({docs_sql}),
        norm AS MATERIALIZED (   -- translate() is slow: only for text that has full-width characters
            SELECT pkey, kind, lower(CASE WHEN regexp_matches(text, $wide) THEN translate(text, $full, $half)
                                          ELSE text END) AS text FROM docs
                 WHERE text IS NOT NULL AND text <> ''),
        words AS MATERIALIZED (
            SELECT pkey, unnest(regexp_extract_all(text, $token)) AS tok FROM norm WHERE kind IN ('t', 'b', 'c')
            UNION ALL SELECT pkey, unnest(regexp_extract_all(text, $unit)) FROM norm WHERE kind IN ('t', 'b', 'c')
        ), models AS (
            SELECT pkey, regexp_replace(w, '[^0-9a-z]', '', 'g') AS m FROM (
                SELECT pkey, unnest(string_split_regex(text, '\\s+')) AS w FROM norm WHERE kind = 't'
                UNION ALL SELECT pkey, text FROM norm WHERE kind = 'm')
            WHERE regexp_matches(w, '[a-z]') AND regexp_matches(w, '[0-9]')
        ), expanded AS (
            SELECT tok AS token, pkey FROM words WHERE unicode(tok) < {_CJK_FIRST}
            UNION ALL SELECT substr(tok, length(tok), 1), pkey FROM words WHERE unicode(tok) >= {_CJK_FIRST}
            UNION ALL SELECT substr(tok, i, 2), pkey FROM (
                SELECT tok, pkey, unnest(range(1, length(tok))) AS i FROM words
                WHERE unicode(tok) >= {_CJK_FIRST} AND length(tok) > 1)
            UNION ALL SELECT DISTINCT '{BRAND}' || text, pkey FROM norm WHERE kind = 'b'
            UNION ALL SELECT DISTINCT '{CATEGORY}' || unnest(regexp_extract_all(text, $token)), pkey
                FROM norm WHERE kind = 'c'
            UNION ALL SELECT DISTINCT '{GTIN}' || lpad(d, 14, '0'), pkey FROM (
                SELECT pkey, regexp_replace(text, '[^0-9]', '', 'g') AS d FROM norm WHERE kind = 'g')
                WHERE length(d) IN (8, 12, 13, 14)
            UNION ALL SELECT DISTINCT '{MODEL}' || m, pkey FROM models WHERE length(m) >= 4
        )
        SELECT token, CAST(pkey AS INTEGER) AS pkey, CAST(least(count(*), 255) AS UTINYINT) AS tf
        FROM expanded GROUP BY ALL ORDER BY token, pkey""",
        {"full": FULL_WIDTH, "half": HALF_WIDTH, "wide": _WIDE, "token": TOKEN_PATTERN, "unit": UNIT_PATTERN},
    )


# ---- the query side ------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def gtin_candidates(text: str) -> list[str]:
    """The GTIN-14s a code may stand for: a GTIN-8/12/13/14 with a valid check digit (zero-padded: UPC-A
    ``012345678905`` = EAN-13 ``0012345678905``), else the code with its missing check digit added."""
    digits = re.sub(r"[\s\-]", "", _fold(text))
    if not digits.isdigit() or not 7 <= len(digits) <= 14:
        return []
    found = []
    if len(digits) in (8, 12, 13, 14) and check_digit(digits[:-1]) == digits[-1]:
        found.append(digits.zfill(14))
    if len(digits) in (7, 11, 12, 13) and not found:
        found.append((digits + check_digit(digits)).zfill(14))
    return found


def check_digit(body: str) -> str:
    """The GS1 check digit of ``body`` (weights 3, 1, 3 … from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def model_key(text: str) -> str | None:
    """A model number folded (case, dashes, spaces, dots): ``MX-591 AX`` → ``mx591ax``; ``None`` unless
    it mixes letters and digits and has 4+ of them."""
    folded = re.sub(r"[^0-9a-z]", "", _fold(text))
    if len(folded) >= 4 and re.search(r"[a-z]", folded) and re.search(r"[0-9]", folded):
        return folded
    return None


@dataclass
class Query:
    terms: list[list[list[Range]]]
    """Each term: alternatives (any may match), each a list of ranges (all must match)."""
    identifiers: list[str]
    """``#g:``/``#m:`` tokens: a product having one is a hit whatever the terms."""


def _word_ranges(tok: str, last: bool) -> list[Range]:
    if _CJK_RE.match(tok):
        ranges: list[Range] = [(tok, tok + _TOP)] if len(tok) == 1 else []
        return ranges + [(tok[i : i + 2], None) for i in range(len(tok) - 1)]
    if len(tok) == 1 or (tok.isdigit() and not last):
        return [(tok, None)]
    return [(tok, tok + _TOP)]


def _spelling_ranges(spelling: str) -> list[Range]:
    """An alias's tokens matched exactly (``mi`` must not find ``midea``; a CJK run by its bigrams)."""
    tokens = _TOKEN_RE.findall(_fold(spelling))
    return [r for t in tokens for r in (_word_ranges(t, False) if _CJK_RE.match(t) else [(t, None)])]


def _term(tok: str, last: bool, synonyms: Synonyms) -> list[list[Range]]:
    spellings = synonyms.get(tok, ())
    alternatives = [_word_ranges(tok, last)] + [_spelling_ranges(s) for s in spellings if s != tok]
    return [a for a in alternatives if a]


def _split_cjk(run: str, synonyms: Synonyms) -> list[str]:
    """A CJK run cut around the longest alias it contains (``华为手机`` → ``华为``, ``手机``)."""
    keys = [k for k in synonyms if _CJK_RE.match(k) and k in run]
    if not keys or run in synonyms:
        return [run]
    key = max(keys, key=len)
    before, _, after = run.partition(key)
    return [
        *(_split_cjk(before, synonyms) if before else []),
        key,
        *(_split_cjk(after, synonyms) if after else []),
    ]


def parse_query(text: str, synonyms: Synonyms | None = None) -> Query:
    """The terms and identifier tokens of a search text (see the module docstring)."""
    synonyms = synonyms or {}
    raw = [
        t
        for tok in _TOKEN_RE.findall(_fold(text))
        for t in (_split_cjk(tok, synonyms) if _CJK_RE.match(tok) else [tok])
    ]
    terms, seen = [], set()
    for n, tok in enumerate(raw):
        if tok not in seen:
            seen.add(tok)
            terms.append(_term(tok, n == len(raw) - 1, synonyms))
    identifiers = [GTIN + g for g in gtin_candidates(text)]
    if (model := model_key(text)) is not None:
        identifiers.append(MODEL + model)
    return Query(terms[:MAX_TERMS], identifiers)


def filter_ranges(kind: str, value: str, synonyms: Synonyms | None = None) -> list[list[Range]]:
    """Alternatives for a brand (``#b:`` whole, exact) or category (``#c:`` every word, as prefixes)."""
    spellings = {_fold(value).strip(), *(synonyms or {}).get(_fold(value).strip(), ())}
    alternatives: list[list[Range]] = []
    for s in sorted(spellings):
        if kind == BRAND:
            alternatives.append([(BRAND + s, None)])
        else:
            words = _TOKEN_RE.findall(s)
            alternatives.append([(CATEGORY + w, CATEGORY + w + _TOP) for w in words])
    return [a for a in alternatives if a]


# ---- the index ---------------------------------------------------------------------------------------


class SearchIndex:
    """Postings in memory: the sorted token list, offsets, one int32 array of pkeys and one uint8 array of
    term counts (5 bytes per (token, product) pair: ~75 MB for 500,000 products), and per product its
    document length and the price and saving sort keys. Load once per snapshot and share it."""

    snapshot_id = ""
    """The snapshot it was loaded from (set by the loader; empty for a working database)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, postings: str, products: str) -> None:
        keys = con.execute(f"SELECT sort_cents, saving_cents FROM {products} ORDER BY pkey").fetchnumpy()
        self.count = len(keys["sort_cents"])
        pad = np.zeros(1, dtype=np.int64)
        self.cents = np.concatenate([pad, np.asarray(keys["sort_cents"], dtype=np.int64)])
        self.saving = np.concatenate([pad, np.asarray(keys["saving_cents"], dtype=np.int64)])
        counts = con.execute(
            f"SELECT token, count(*) FROM {postings} GROUP BY token ORDER BY token"
        ).fetchall()
        self.tokens = [t for t, _ in counts]
        self.offsets = np.concatenate([[0], np.cumsum([n for _, n in counts], dtype=np.int64)])
        columns = con.execute(f"SELECT pkey, tf FROM {postings}").fetchnumpy()  # stored (token, pkey) order
        self.pkeys = np.asarray(columns["pkey"], dtype=np.int32)
        self.tf = np.asarray(columns["tf"], dtype=np.uint8)
        words = int(self.offsets[bisect_left(self.tokens, "$")])  # '#…' tokens sort before every word
        self.doc_len = np.bincount(self.pkeys[words:], weights=self.tf[words:], minlength=self.count + 1)
        self.avg_len = float(self.doc_len[1:].mean()) if self.count else 1.0
        self._orders: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def postings(self, low: str, high: str | None) -> np.ndarray:
        """Sorted unique pkeys having token ``low`` (``high`` None) or any token in ``[low, high)``."""
        i, j = self._span(low, high)
        found = self.pkeys[self.offsets[i] : self.offsets[j]]
        if j - i <= 1:
            return found
        found = np.sort(found)  # several tokens' lists: merge (sort-based; numpy's hash unique is slower)
        return found[np.concatenate(([True], found[1:] != found[:-1]))]

    def counts(self, low: str, high: str | None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`postings` and each pkey's term count (summed over the range's tokens)."""
        i, j = self._span(low, high)
        found, tf = self.pkeys[self.offsets[i] : self.offsets[j]], self.tf[self.offsets[i] : self.offsets[j]]
        if j - i <= 1:
            return found, tf.astype(np.float64)
        order = np.argsort(found, kind="stable")
        found, tf = found[order], tf[order].astype(np.float64)
        starts = np.flatnonzero(np.concatenate(([True], found[1:] != found[:-1])))
        return found[starts], np.add.reduceat(tf, starts)

    def _span(self, low: str, high: str | None) -> tuple[int, int]:
        i = bisect_left(self.tokens, low)
        if high is not None:
            return i, bisect_left(self.tokens, high)
        return i, i + int(i < len(self.tokens) and self.tokens[i] == low)

    def order(self, sort: str) -> tuple[np.ndarray, np.ndarray]:
        """All pkeys by price (ascending) or saving (descending), pkey breaking ties, and their sort values
        (cents; a saving negated), computed once."""
        if sort not in self._orders:
            keys = np.arange(1, self.count + 1, dtype=np.int64)
            primary = self.cents[1:] if sort == "price" else -self.saving[1:]
            order = np.lexsort((keys, primary))
            self._orders[sort] = (keys[order], primary[order].astype(np.float64))
        return self._orders[sort]

    def bm25(self, hits: np.ndarray, ranges: list[Range]) -> np.ndarray:
        """Each hit's BM25 score over ``ranges`` (a range a hit lacks adds nothing)."""
        score = np.zeros(len(hits))
        norm = _K1 * (1 - _B + _B * self.doc_len[hits] / self.avg_len)
        for low, high in dict.fromkeys(ranges):
            keys, tf = self.counts(low, high)
            if not len(keys):
                continue
            idf = math.log(1 + (self.count - len(keys) + 0.5) / (len(keys) + 0.5))
            pos = np.minimum(np.searchsorted(keys, hits), len(keys) - 1)
            present = keys[pos] == hits
            f = np.where(present, tf[pos], 0.0)
            score += idf * f * (_K1 + 1) / (f + norm)
        return score


def intersect(lists: list[np.ndarray]) -> np.ndarray:
    lists = sorted(lists, key=len)
    result = lists[0]
    for other in lists[1:]:
        if not len(result) or not len(other):
            return result[:0]
        pos = np.minimum(np.searchsorted(other, result), len(other) - 1)
        result = result[other[pos] == result]
    return result


def union(lists: list[np.ndarray]) -> np.ndarray:
    """Sorted unique pkeys in any of the sorted ``lists`` (sort-based: numpy's hash unique is slower)."""
    lists = [a for a in lists if len(a)]
    if len(lists) <= 1:
        return lists[0] if lists else np.zeros(0, dtype=np.int32)
    merged = np.sort(np.concatenate(lists))
    return merged[np.concatenate(([True], merged[1:] != merged[:-1]))]


def alternatives_hits(index: SearchIndex, alternatives: list[list[Range]]) -> np.ndarray:
    """Products matching any alternative (each: all of its ranges)."""
    return union([intersect([index.postings(lo, hi) for lo, hi in alt]) for alt in alternatives])
