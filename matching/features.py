"""Pair features for the pair model, computed for whole batches of pairs with numpy and rapidfuzz.

Each record is encoded once (:class:`RecordTable`): its title tokens, glued token spans (``wh 1000 xm 5``
→ ``wh1000xm5``), model codes, description codes and shop-stated keys become integer ids in CSR arrays;
brand, MPN, GTIN, category and variant attributes become one id per record. A pair's set features
(shared tokens, the rarest token one side lacks, a code of one title found in the other …) are then
membership tests of one record's ids against the other's (``np.searchsorted`` over ``record·n + id``
keys) summed per pair with ``np.bincount``; string similarities come from rapidfuzz's ``cpdist``.
A signal that is absent (no codes, no price, no brand) is ``nan``: the trees route it on their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from .attributes import VARIANT_KEYS
from .model import WordWeights
from .normalise import BRAND_ALIASES, COLOURS, STOP_WORDS
from .prepare import VARIANT_WORDS, Prepared, Vocabulary

if TYPE_CHECKING:
    import numpy as np

STRING_FEATURES = ("ratio", "tset", "tsort", "glued_ratio")
TOKEN_FEATURES = (
    "jacc",
    "idf_jacc",
    "contain",
    "idf_contain_min",
    "idf_contain_max",
    "len_ratio",
    "tokens_min",
    "rare_only_max",
    "rare_only_min",
    "rare_shared_max",
    "num_only_max",
    "num_only_min",
    "num_shared",
    "bare_only_min",
    "word_only_max",
    "word_only_min",
    "first_eq",
)
CODE_FEATURES = (
    "codes_min",
    "codes_max",
    "code_found",
    "code_conflict",
    "code_sim",
    "code_digits_same",
    "code_in_desc",
)
ID_FEATURES = ("gtin_eq", "mpn_eq", "mpn_sim", "mpn_in_other", "brand_eq", "brand_in_other", "variant_diff")
ATTRIBUTE_FEATURES = (*(f"attr:{k}" for k in VARIANT_KEYS), "attr_agree", "attr_conflict")
OTHER_FEATURES = ("kv_shared", "kv_eq", "price_log", "cat_eq", "words", "words_known")
FEATURES: tuple[str, ...] = (
    *STRING_FEATURES,
    *TOKEN_FEATURES,
    *CODE_FEATURES,
    *ID_FEATURES,
    *ATTRIBUTE_FEATURES,
    *OTHER_FEATURES,
)
"""The pair model's input columns, in order."""

NAN = float("nan")
MAX_SPAN = 4
"""Spans of up to this many consecutive tokens are glued (a code written apart is found glued)."""
_NOT_WORDS = (
    frozenset(STOP_WORDS)
    | frozenset(COLOURS.values())
    | frozenset(w for b in BRAND_ALIASES.values() for w in b.split())
)
_COLOUR_BITS = {c: 1 << k for k, c in enumerate(sorted(set(COLOURS.values())))}


class _Ids:
    """Strings → consecutive integer ids (one space for tokens, spans, codes and brands)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __call__(self, text: str | None) -> int:
        return self.ids.setdefault(text, len(self.ids)) if text else -1

    def many(self, texts: Iterable[str]) -> list[int]:
        ids = self.ids
        return [ids.setdefault(x, len(ids)) for x in texts]


class _Csr:
    """Per record, a sorted set of ids; ``keys`` (record·width + id) sorted for membership tests."""

    def __init__(self, sets: list[list[int]], width: int) -> None:
        import numpy as np

        lengths = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
        self.indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        base = np.repeat(np.arange(len(sets), dtype=np.int64), lengths) * width
        self.keys = np.fromiter(chain.from_iterable(sets), dtype=np.int64, count=int(lengths.sum())) + base
        self.keys.sort()  # by record, then id (ids < width)
        self.ids = self.keys - base
        self.width = width

    def count(self, rows: np.ndarray) -> np.ndarray:
        return self.indptr[rows + 1] - self.indptr[rows]

    def expand(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pair index, id, segment start per pair) of every id of each ``rows`` record, pair by pair."""
        import numpy as np

        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        ends = np.cumsum(lengths)
        first = ends - lengths
        pair = np.repeat(np.arange(len(rows)), lengths)
        pos = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(first - starts, lengths)
        return pair, self.ids[pos], first

    def has(self, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Whether record ``rows[k]`` holds ``ids[k]``, for each k."""
        import numpy as np

        if not len(self.keys):
            return np.zeros(len(ids), dtype=bool)
        query = rows * self.width + ids
        at = np.minimum(np.searchsorted(self.keys, query), len(self.keys) - 1)
        return (self.keys[at] == query) & (ids >= 0)


def _spans(seq: list[str], sought: set[str], starts: set[str]) -> set[str]:
    """Runs of 2 … ``MAX_SPAN`` consecutive tokens glued together (24 characters at most) that are ``sought``
    (a run stops growing once no sought string ``starts`` with it)."""
    out = set()
    for s in range(len(seq) - 1):
        glued = seq[s]
        for token in seq[s + 1 : s + MAX_SPAN]:
            glued += token
            if len(glued) > 24 or glued not in starts:
                break
            if glued in sought:
                out.add(glued)
    return out


def _sought(prepared: Sequence[Prepared], tokens: list[str]) -> tuple[set[str], set[str]]:
    """Every string a title is searched for (``RecordTable.look``: tokens, codes, MPNs, brands) and their
    beginnings: a glued span that is none of them can never be found, so it is not kept (most spans of
    Chinese bigrams)."""
    sought = set(tokens)
    for p in prepared:
        sought.update(p.codes)
        if p.mpn:
            sought.add(p.mpn)
        if p.brand:
            sought.add(p.brand.replace(" ", ""))
    return sought, {x[:k] for x in sought for k in range(2, len(x) + 1)}


def _objects(values: list[str]) -> np.ndarray:
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _is_word(token: str) -> bool:
    return len(token) >= 2 and not any(c.isdigit() for c in token) and token not in _NOT_WORDS


def _colour_mask(value: str | None) -> int:
    return sum(_COLOUR_BITS.get(c, 0) for c in set(value.split("/"))) if value else 0


class RecordTable:
    """Everything the pair features read of each record, as arrays (built once per batch of records)."""

    def __init__(self, prepared: Sequence[Prepared], vocab: Vocabulary, words: WordWeights | None) -> None:
        import numpy as np

        ids = _Ids()
        # ids are given in sorted order (the same features whatever the hash seed), tokens first: the
        # per-token arrays (rarity, word weights …) cover ids 0 … n_tokens - 1 only
        tok = [ids.many(sorted(p.tokens)) for p in prepared]
        names = list(ids.ids)
        width_tokens = len(names)
        sought, starts = _sought(prepared, names)
        look, code, dcode, kvk, kvi, scalars = [], [], [], [], [], []
        for p, t in zip(prepared, tok, strict=True):
            c = ids.many(sorted(p.codes))
            code.append(c)
            look.append([*{*t, *c, *ids.many(sorted(_spans(p.norm.split(), sought, starts)))}])
            dcode.append(ids.many(sorted(p.desc_codes)))
            kvk.append(ids.many("k:" + k for k in sorted(p.kv)))
            kvi.append(ids.many(f"k:{k}={v}" for k, v in sorted(p.kv.items())))
            scalars.append(self._scalars(p, ids))
        width = len(ids.ids) + 1
        self.size = len(prepared)
        self.tok, self.look, self.code = _Csr(tok, width), _Csr(look, width), _Csr(code, width)
        self.dcode, self.kvk, self.kvi = _Csr(dcode, width), _Csr(kvk, width), _Csr(kvi, width)
        self.scalar = np.asarray(scalars, dtype=np.int64).reshape(len(prepared), -1)
        self.colour = np.fromiter(
            (_colour_mask(p.attrs.get("colour")) for p in prepared), np.int64, self.size
        )
        self.price = np.fromiter((p.price or NAN for p in prepared), np.float64, self.size)
        self.price[~(self.price > 0)] = NAN
        self.texts = _objects([p.norm for p in prepared])
        self.glued = _objects([p.condensed for p in prepared])
        self.sorted = _objects([" ".join(sorted(p.norm.split())) for p in prepared])
        self.longest = _objects(
            [max(p.codes, key=lambda x: (len(x), x)) if p.codes else "" for p in prepared]
        )
        self.mpn = _objects([p.mpn or "" for p in prepared])
        self._token_arrays(names[:width_tokens], vocab, words)
        owners, idf = self._per_record(self.tok, self.idf)
        self.idf_total = np.bincount(owners, weights=idf, minlength=self.size)

    @staticmethod
    def _scalars(p: Prepared, ids: _Ids) -> tuple[int, ...]:
        """first token, brand, MPN, GTIN, category, variant words, digits of the longest code, then one id
        per variant attribute but colour (a bit mask apart)."""
        longest = max(p.codes, key=lambda x: (len(x), x)) if p.codes else ""
        return (
            ids(p.norm.split(" ", 1)[0]),
            ids(p.brand.replace(" ", "")) if p.brand else -1,
            ids(p.mpn),
            ids("g:" + p.gtin) if p.gtin else -1,
            ids("c:" + p.category) if p.category else -1,
            ids("v:" + " ".join(sorted(t for t in p.norm.split() if t in VARIANT_WORDS)))
            if p.variant_words
            else -1,
            ids("d:" + "".join(ch for ch in longest if ch.isdigit())) if longest else -1,
            *(ids(f"a:{k}={p.attrs[k]}") if k in p.attrs and k != "colour" else -1 for k in VARIANT_KEYS),
        )

    def _token_arrays(self, names: list[str], vocab: Vocabulary, words: WordWeights | None) -> None:
        """Per token id: rarity, digit/number/model-word flags, word weights (a last 0 for 'no token')."""
        import numpy as np

        def array(values: Iterable[float | bool], dtype: type) -> np.ndarray:
            return np.array([*values, 0], dtype=dtype)

        self.idf = array(map(vocab.idf, names), np.float64)
        self.bare = array((x.isdigit() for x in names), bool)
        self.digit = array((not x.isalpha() and any(ch.isdigit() for ch in x) for x in names), bool)
        self.word = array(
            (
                not d and _is_word(x) and x not in VARIANT_WORDS
                for x, d in zip(names, self.digit[:-1], strict=True)
            ),
            bool,
        )
        shared, only = (words.shared, words.only) if words else ({}, {})
        self.w_shared = array((shared.get(x, 0.0) for x in names), np.float64)
        self.w_only = array((only.get(x, 0.0) for x in names), np.float64)
        self.k_shared = array((x in shared for x in names), bool)
        self.k_only = array((x in only for x in names), bool)
        self.w_bias = words.bias if words else NAN

    def _per_record(self, csr: _Csr, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        return np.repeat(np.arange(self.size), csr.count(np.arange(self.size))), values[csr.ids]


_TABLES: WeakKeyDictionary[Vocabulary, tuple[Sequence[Prepared], int, WordWeights | None, RecordTable]] = (
    WeakKeyDictionary()
)


def table_for(prepared: Sequence[Prepared], vocab: Vocabulary, words: WordWeights | None) -> RecordTable:
    """The record table of ``prepared`` (cached while ``vocab`` lives: a run scores many chunks of pairs)."""
    got = _TABLES.get(vocab)
    if got and got[0] is prepared and got[1] == len(prepared) and got[2] is words:
        return got[3]
    table = RecordTable(prepared, vocab, words)
    _TABLES[vocab] = (prepared, len(prepared), words, table)
    return table


def _segment_max(values: np.ndarray, first: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.zeros(len(first))
    if len(values):
        got = np.maximum.reduceat(values, np.minimum(first, len(values) - 1))
        out = np.where(lengths > 0, got, 0.0)
    return out


class _Side:
    """One direction of a pair batch: the ids of ``rows`` tested against the records ``other``."""

    def __init__(self, t: RecordTable, rows: np.ndarray, other: np.ndarray) -> None:
        import numpy as np

        n = len(rows)
        pair, tid, first = t.tok.expand(rows)
        inside = t.tok.has(other[pair], tid)
        outside = ~inside

        def total(weights: np.ndarray) -> np.ndarray:
            return np.bincount(pair, weights, minlength=n)

        self.n = t.tok.count(rows).astype(np.float64)
        self.shared = total(inside.astype(np.float64))
        self.shared_idf = total(inside * t.idf[tid])
        self.rare_only = _segment_max(outside * t.idf[tid], first, self.n)
        self.rare_shared = _segment_max(inside * t.idf[tid], first, self.n)
        self.num_only = total(outside & t.digit[tid])
        self.num_shared = total(inside & t.digit[tid])
        self.bare_only = total(outside & t.bare[tid])
        found = t.look.has(other[pair], tid)  # a word glued in the other title is not missing from it
        self.word_only = total(~found & t.word[tid])
        self.w_shared = total(inside * t.w_shared[tid])
        self.w_only = total(outside * t.w_only[tid])
        self.k_shared = total(inside & t.k_shared[tid])
        self.k_only = total(outside & t.k_only[tid])
        cpair, cid, _ = t.code.expand(rows)
        self.codes = t.code.count(rows).astype(np.float64)
        self.code_found = total_of(cpair, t.look.has(other[cpair], cid), n)
        self.code_in_desc = total_of(cpair, t.dcode.has(other[cpair], cid), n)
        self.has_desc = t.dcode.count(other) > 0


def total_of(pair: np.ndarray, hit: np.ndarray, n: int) -> np.ndarray:
    import numpy as np

    return np.bincount(pair, hit.astype(np.float64), minlength=n)


def _eq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 equal, 0 different, nan when either side has no value (-1)."""
    import numpy as np

    return np.where((a < 0) | (b < 0), np.nan, (a == b).astype(np.float64))


def _ratio(n: np.ndarray, d: np.ndarray, empty: float = 0.0) -> np.ndarray:
    import numpy as np

    return np.divide(n, d, out=np.full(len(n), empty), where=d > 0)


def string_features(t: RecordTable, left: np.ndarray, right: np.ndarray, workers: int) -> list[np.ndarray]:
    from rapidfuzz import fuzz
    from rapidfuzz.process import cpdist

    a, b = t.texts[left].tolist(), t.texts[right].tolist()
    out = [cpdist(a, b, scorer=s, workers=workers) / 100.0 for s in (fuzz.ratio, fuzz.token_set_ratio)]
    # token_sort_ratio is the ratio of the sorted tokens; partial_ratio was dropped: it cost half the scoring
    # time of Chinese titles (bigrams) and nothing on the pooled valid splits (mean F1 0.8617 → 0.8615)
    out += [
        cpdist(strings[left].tolist(), strings[right].tolist(), scorer=fuzz.ratio, workers=workers) / 100.0
        for strings in (t.sorted, t.glued)
    ]
    return out


def _code_pairs(
    t: RecordTable, left: np.ndarray, right: np.ndarray, workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """code_sim (Indel similarity of the longest codes) and code_digits_same (same digits, other code)."""
    import numpy as np
    from rapidfuzz.distance import Indel
    from rapidfuzz.process import cpdist

    la, lb = t.longest[left], t.longest[right]
    both = (t.code.count(left) > 0) & (t.code.count(right) > 0)
    sim = np.full(len(left), np.nan)
    if both.any():
        sim[both] = cpdist(
            la[both].tolist(), lb[both].tolist(), scorer=Indel.normalized_similarity, workers=workers
        )
    da, db = t.scalar[left, 6], t.scalar[right, 6]
    digits = np.where(both, ((da == db) & (la != lb) & (da >= 0)).astype(np.float64), np.nan)
    return sim, digits


def pair_features(t: RecordTable, left: np.ndarray, right: np.ndarray, workers: int = 1) -> np.ndarray:
    """``FEATURES`` for each pair ``(left[k], right[k])`` of record indices, as an (n, len(FEATURES)) array."""
    import numpy as np

    n = len(left)
    if n == 0:
        return np.zeros((0, len(FEATURES)))
    a, b = _Side(t, left, right), _Side(t, right, left)
    lo, hi = np.minimum, np.maximum
    shared_idf = a.shared_idf
    union = a.n + b.n - a.shared
    union_idf = t.idf_total[left] + t.idf_total[right] - shared_idf
    tokens = [
        _ratio(a.shared, union),
        _ratio(shared_idf, union_idf),
        _ratio(a.shared, lo(a.n, b.n)),
        lo(_ratio(shared_idf, t.idf_total[left]), _ratio(shared_idf, t.idf_total[right])),
        hi(_ratio(shared_idf, t.idf_total[left]), _ratio(shared_idf, t.idf_total[right])),
        _ratio(lo(a.n, b.n), hi(a.n, b.n)),
        lo(a.n, b.n),
        hi(a.rare_only, b.rare_only),
        lo(a.rare_only, b.rare_only),
        a.rare_shared,
        hi(a.num_only, b.num_only),
        lo(a.num_only, b.num_only),
        a.num_shared,
        lo(a.bare_only, b.bare_only),
        hi(a.word_only, b.word_only),
        lo(a.word_only, b.word_only),
        _eq(t.scalar[left, 0], t.scalar[right, 0]),
    ]
    any_codes = (a.codes + b.codes) > 0
    both_codes = (a.codes > 0) & (b.codes > 0)
    found = (a.code_found + b.code_found) > 0
    in_desc = np.where(
        any_codes & (a.has_desc | b.has_desc), ((a.code_in_desc + b.code_in_desc) > 0) * 1.0, np.nan
    )
    sim, digits = _code_pairs(t, left, right, workers)
    codes = [
        lo(a.codes, b.codes),
        hi(a.codes, b.codes),
        np.where(any_codes, found * 1.0, np.nan),
        np.where(both_codes, (~found) * 1.0, np.nan),
        sim,
        digits,
        in_desc,
    ]
    return np.column_stack(
        [
            *string_features(t, left, right, workers),
            *tokens,
            *codes,
            *_identity(t, left, right, workers),
            *_attributes(t, left, right),
            *_other(t, left, right, a, b),
        ]
    )


def _identity(t: RecordTable, left: np.ndarray, right: np.ndarray, workers: int) -> list[np.ndarray]:
    import numpy as np
    from rapidfuzz.distance import Indel
    from rapidfuzz.process import cpdist

    sl, sr = t.scalar[left], t.scalar[right]
    ma, mb = sl[:, 2], sr[:, 2]
    both = (ma >= 0) & (mb >= 0)
    mpn_sim = np.full(len(left), np.nan)
    if both.any():
        mpn_sim[both] = cpdist(
            t.mpn[left][both].tolist(),
            t.mpn[right][both].tolist(),
            scorer=Indel.normalized_similarity,
            workers=workers,
        )
    either = (ma >= 0) | (mb >= 0)
    mpn_in = t.look.has(right, ma) | t.look.has(left, mb)
    ba, bb = sl[:, 1], sr[:, 1]
    brand_in = t.look.has(right, ba) | t.look.has(left, bb)
    va, vb = sl[:, 5], sr[:, 5]
    return [
        _eq(sl[:, 3], sr[:, 3]),
        _eq(ma, mb),
        mpn_sim,
        np.where(either, mpn_in * 1.0, np.nan),
        _eq(ba, bb),
        np.where((ba >= 0) | (bb >= 0), brand_in * 1.0, np.nan),
        (va != vb) * 1.0,
    ]


def _attributes(t: RecordTable, left: np.ndarray, right: np.ndarray) -> list[np.ndarray]:
    """Per variant attribute: 1 conflict, 0 agree, nan unless both state it; then agreements, conflicts."""
    import numpy as np

    cols = []
    for k, key in enumerate(VARIANT_KEYS):
        if key == "colour":
            ca, cb = t.colour[left], t.colour[right]
            both = (ca > 0) & (cb > 0)
            cols.append(np.where(both, ((ca & cb) == 0) * 1.0, np.nan))
        else:
            x, y = t.scalar[left, 7 + k], t.scalar[right, 7 + k]
            cols.append(np.where((x >= 0) & (y >= 0), (x != y) * 1.0, np.nan))
    stacked = np.column_stack(cols)
    return [*cols, np.sum(stacked == 0, axis=1) * 1.0, np.sum(stacked == 1, axis=1) * 1.0]


def _other(t: RecordTable, left: np.ndarray, right: np.ndarray, a: _Side, b: _Side) -> list[np.ndarray]:
    import numpy as np

    kpair, kid, _ = t.kvk.expand(left)
    shared_keys = total_of(kpair, t.kvk.has(right[kpair], kid), len(left))
    vpair, vid, _ = t.kvi.expand(left)
    shared_items = total_of(vpair, t.kvi.has(right[vpair], vid), len(left))
    pa, pb = t.price[left], t.price[right]
    with np.errstate(invalid="ignore", divide="ignore"):
        price = np.abs(np.log(pa / pb))
    words = t.w_bias + a.w_shared + a.w_only + b.w_only
    seen = a.shared + (a.n - a.shared) + (b.n - b.shared)
    known = (
        _ratio(a.k_shared + a.k_only + b.k_only, seen) if t.w_bias == t.w_bias else np.full(len(left), np.nan)
    )
    return [
        shared_keys,
        np.where(shared_keys > 0, _ratio(shared_items, shared_keys), np.nan),
        price,
        _eq(t.scalar[left, 4], t.scalar[right, 4]),
        words,
        known,
    ]


def hard_vetoes(x: np.ndarray, vetoes: Iterable[str], gtin_decides: bool) -> np.ndarray:
    """Which rows a hard rule forbids: a variant attribute in ``vetoes`` that conflicts, different GTINs."""
    import numpy as np

    out = np.zeros(len(x), dtype=bool)
    for key in vetoes:
        name = f"attr:{key}"
        if name in FEATURES:
            out |= x[:, FEATURES.index(name)] == 1
    if gtin_decides:
        out |= x[:, FEATURES.index("gtin_eq")] == 0
    return out


def veto_reasons(
    prepared_a: Prepared, prepared_b: Prepared, vetoes: Iterable[str], gtin_decides: bool
) -> list[str]:
    """The hard rules a pair breaks, in words (for the pairs that were vetoed)."""
    from .attributes import attribute_conflict

    out = []
    for key in vetoes:
        va, vb = prepared_a.attrs.get(key), prepared_b.attrs.get(key)
        if va is not None and vb is not None and attribute_conflict(key, va, vb):
            out.append(f"{key}: {va} ≠ {vb}")
    if gtin_decides and prepared_a.gtin and prepared_b.gtin and prepared_a.gtin != prepared_b.gtin:
        out.append("gtin differs")
    return out


def word_terms(a: Prepared, b: Prepared) -> tuple[set[str], set[str]]:
    """The words of a pair the word weights read: (in both titles, in one only)."""
    return set(a.tokens & b.tokens), set(a.tokens ^ b.tokens)


def finite(value: float) -> bool:
    return not math.isnan(value)
