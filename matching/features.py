"""Pair features for the pair model, computed for whole batches of pairs with numpy and rapidfuzz.

Each record is encoded once (:class:`~matching.record_table.RecordTable`). A pair's set features (shared
tokens, the rarest token one side lacks, a code of one title found in the other …) are then membership
tests of one record's ids against the other's (``np.searchsorted`` over ``record·n + id`` keys) summed per
pair with ``np.bincount``; string similarities come from rapidfuzz's ``cpdist``. A signal that is absent
(no codes, no price, no brand) is ``nan``: the trees route it on their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .attributes import VARIANT_KEYS
from .heap import keep_freed_memory
from .prepare import Prepared
from .record_table import RecordTable
from .token_set import SetSide, token_set_ratio

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


def _segment_max(values: np.ndarray, first: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.zeros(len(first))
    if len(values):
        got = np.maximum.reduceat(values, np.minimum(first, len(values) - 1))
        out = np.where(lengths > 0, got, 0.0)
    return out


class _Side:
    """One direction of a pair batch: the ids of ``rows`` tested against the records ``other``. What is
    shared by both titles is the same seen from either side (the shared tokens in id order: equal sums) and
    is taken from ``mirror`` when it is given."""

    def __init__(
        self, t: RecordTable, rows: np.ndarray, other: np.ndarray, mirror: _Side | None = None
    ) -> None:
        import numpy as np

        n = len(rows)
        pair, pos, first = t.tok.spread(rows)
        tid = t.tok.ids[pos]
        inside = t.tok.has(other[pair], tid)
        outside = ~inside
        ranked = np.arange(len(pos)) + (t.by_rank[pos] - pos)  # each record's tokens in sorted order
        count = t.tok.count(rows).astype(np.float64)
        self.tokens = SetSide(pair, tid[ranked], inside[ranked], count, t.token_chars[rows])

        def total(weights: np.ndarray) -> np.ndarray:
            return np.bincount(pair, weights, minlength=n)

        idf = t.idf[tid]
        self.n = count
        if mirror is None:
            self.shared = total(inside.astype(np.float64))
            self.shared_idf = total(inside * idf)
            self.rare_shared = _segment_max(inside * idf, first, self.n)
            self.num_shared = total(inside & t.digit[tid])
            self.w_shared = total(inside * t.w_shared[tid])
            self.k_shared = total(inside & t.k_shared[tid])
        else:
            self.shared, self.shared_idf, self.rare_shared = (
                mirror.shared,
                mirror.shared_idf,
                mirror.rare_shared,
            )
            self.num_shared, self.w_shared, self.k_shared = (
                mirror.num_shared,
                mirror.w_shared,
                mirror.k_shared,
            )
        self.rare_only = _segment_max(outside * idf, first, self.n)
        self.num_only = total(outside & t.digit[tid])
        self.bare_only = total(outside & t.bare[tid])
        # a word glued in the other title is not missing from it (a shared token never is)
        asked = np.flatnonzero(outside & t.word[tid])
        self.word_only = total_of(pair[asked], ~t.look.has(other[pair[asked]], tid[asked]), n)
        self.w_only = total(outside * t.w_only[tid])
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


def string_features(
    t: RecordTable, left: np.ndarray, right: np.ndarray, sides: tuple[_Side, _Side], workers: int
) -> list[np.ndarray]:
    from rapidfuzz import fuzz
    from rapidfuzz.process import cpdist

    a, b = t.texts[left].tolist(), t.texts[right].tolist()
    out = [
        cpdist(a, b, scorer=fuzz.ratio, workers=workers) / 100.0,
        _token_set(t, left, right, sides, workers),
    ]
    # token_sort_ratio is the ratio of the sorted tokens; partial_ratio was dropped: it cost half the scoring
    # time of Chinese titles (bigrams) and nothing on the pooled valid splits (mean F1 0.8617 → 0.8615)
    out += [
        cpdist(strings[left].tolist(), strings[right].tolist(), scorer=fuzz.ratio, workers=workers) / 100.0
        for strings in (t.sorted, t.glued)
    ]
    return out


def _token_set(
    t: RecordTable, left: np.ndarray, right: np.ndarray, sides: tuple[_Side, _Side], workers: int
) -> np.ndarray:
    """``fuzz.token_set_ratio`` of the titles / 100, as ``cpdist`` gives it (float32), from the token ids;
    rapidfuzz itself for the pairs with a title that is not plain tokens and spaces."""
    import numpy as np
    from rapidfuzz import fuzz
    from rapidfuzz.process import cpdist

    score = token_set_ratio(t.token_texts, sides[0].tokens, sides[1].tokens, len(left), workers)
    odd = np.flatnonzero(~(t.plain[left] & t.plain[right]))
    if len(odd):
        a, b = t.texts[left[odd]].tolist(), t.texts[right[odd]].tolist()
        score[odd] = cpdist(a, b, scorer=fuzz.token_set_ratio, workers=workers)
    return score.astype(np.float32) / 100.0


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
    keep_freed_memory()
    a = _Side(t, left, right)
    b = _Side(t, right, left, mirror=a)
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
            *string_features(t, left, right, (a, b), workers),
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
