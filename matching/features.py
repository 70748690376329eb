"""Extra pair features for the tree model (``matching.model``): model-code detail, token rarity, shop-stated
attributes key by key, character n-grams, price, and a learned word co-occurrence score (``cooc``).

The logistic scorer reads ``scoring.FEATURES`` only; a profile with a tree model (``MatchConfig.model``)
reads those plus ``EXTRA_FEATURES``. A missing signal is ``nan`` (the trees route it on their own), not 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from functools import lru_cache

from rapidfuzz.distance import Indel

from .model import MODELS_DIR
from .prepare import Prepared, Vocabulary

NAN = float("nan")

KV_KEYS: tuple[str, ...] = (
    "mpn",
    "colour",
    "size",
    "上市年份季节",
    "风格",
    "图案",
    "材质",
    "领型",
    "服装版型",
    "袖长",
    "成分含量",
    "款式",
    "适用年龄",
    "袖型",
    "适用对象",
    "厚薄",
    "服装款式细节",
    "适用场景",
    "衣长",
    "面料",
    "流行元素",
    "组合形式",
    "适用季节",
    "腰型",
    "通勤",
    "衣门襟",
    "鞋跟款式",
    "鞋底材质",
    "裤长",
    "裙长",
    "鞋头款式",
    "帮面材质",
    "闭合方式",
)
"""Shop-stated keys compared one by one (canonical names; the most frequent in ali-ember-zh's train split)."""

EXTRA_FEATURES: tuple[str, ...] = (
    "code_sim",
    "code_digits_same",
    "code_prefix",
    "code_in_desc",
    "codes_a",
    "codes_b",
    "jacc",
    "contain",
    "len_ratio",
    "rare_only_max",
    "rare_only_min",
    "rare_shared_max",
    "num_only_max",
    "num_only_min",
    "first_eq",
    "brand_in_title",
    "char_jacc",
    "char_contain",
    "price_log",
    "cat_eq",
    "kv_shared",
    "kv_val_jacc",
    "mpn_sim",
    "mpn_in_title",
    "brand_kv_eq",
    *(f"kv:{k}" for k in KV_KEYS),
    "glued_eq",
    "glued_clash",
    "brand_clash",
    "code_digits_in",
    "cooc",
)


def code_features(a: Prepared, b: Prepared) -> list[float]:
    """code_sim (best normalised similarity of two codes), code_digits_same (same digits, other letters:
    A12 vs A12s), code_prefix (one code extends the other), code_in_desc, codes_a, codes_b."""
    na, nb = len(a.codes), len(b.codes)
    in_desc = NAN
    if a.codes or b.codes:
        in_desc = float(
            any(c in b.desc for c in a.codes if b.desc) or any(c in a.desc for c in b.codes if a.desc)
        )
    if not (na and nb):
        return [NAN, NAN, NAN, in_desc, float(na), float(nb)]
    best = digits = prefix = 0.0
    for x in a.codes:
        dx = "".join(ch for ch in x if ch.isdigit())
        for y in b.codes:
            best = max(best, Indel.normalized_similarity(x, y))
            if x != y:
                if dx and len(dx) >= 2 and dx == "".join(ch for ch in y if ch.isdigit()):
                    digits = 1.0
                if x.startswith(y) or y.startswith(x):
                    prefix = 1.0
    return [best, digits, prefix, in_desc, float(na), float(nb)]


class _Side:
    """What the pair features read of one record, computed once per record and call."""

    __slots__ = ("brands", "code_digits", "digits", "first", "glued", "grams", "ranked")

    def __init__(self, p: Prepared, vocab: Vocabulary, brands: frozenset[str]) -> None:
        self.grams = _bigrams(p.condensed)
        self.ranked = sorted(((vocab.idf(t), t) for t in p.tokens), reverse=True)
        self.first = p.norm.split(" ", 1)[0]
        self.glued = short_models(p.norm.split())
        self.brands = (p.tokens & brands) | ({p.brand} if p.brand in brands else set())
        self.digits = _digits(p.condensed)
        self.code_digits = {d for d in (_digits(c) for c in p.codes) if len(d) >= 3}


def short_models(tokens: Sequence[str]) -> frozenset[str]:
    """Short model names the normaliser split apart, glued back: ``a 12 s`` → ``a12s``, ``rx 5500 xt`` →
    ``rx5500xt`` (letters ≤ 3, digits, then an optional suffix of ≤ 2 letters)."""
    out = set()
    for k in range(len(tokens) - 1):
        head, num = tokens[k], tokens[k + 1]
        if head.isascii() and head.isalpha() and len(head) <= 3 and num.isdigit():
            tail = tokens[k + 2] if k + 2 < len(tokens) else ""
            suffix = tail if tail.isascii() and tail.isalpha() and len(tail) <= 2 else ""
            out.add(head + num + suffix)
    return frozenset(out)


def corpus_features(sa: _Side, sb: _Side) -> list[float]:
    """brand_clash (each title names a brand stated for a record of these pairs, and none is shared),
    code_digits_in (a code's digits, ≥ 3, appear in the other title's digits: SEL-70200G vs 70-200mm)."""
    clash = float(not (sa.brands & sb.brands)) if sa.brands and sb.brands else NAN
    found = NAN
    if sa.code_digits or sb.code_digits:
        found = float(
            any(d in sb.digits for d in sa.code_digits) or any(d in sa.digits for d in sb.code_digits)
        )
    return [clash, found]


def glued_features(sa: _Side, sb: _Side) -> list[float]:
    """glued_eq (a short model in both), glued_clash (same digits, other letters: a12 vs a12s)."""
    ga, gb = sa.glued, sb.glued
    if not (ga and gb):
        return [NAN, NAN]
    clash = any(x != y and x not in gb and y not in ga and _digits(x) == _digits(y) for x in ga for y in gb)
    return [float(bool(ga & gb)), float(clash)]


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _rarest_outside(side: _Side, other: frozenset[str]) -> float:
    return next((w for w, t in side.ranked if t not in other), 0.0)


def token_features(a: Prepared, b: Prepared, sa: _Side, sb: _Side) -> list[float]:
    """jacc, contain, len_ratio, rare_only_max/min (rarest token one side lacks), rare_shared_max,
    num_only_max/min (numbers one side lacks), first_eq, brand_in_title."""
    ta, tb = a.tokens, b.tokens
    n_shared = len(ta & tb)
    small = min(len(ta), len(tb))
    union = len(ta) + len(tb) - n_shared
    jacc = n_shared / union if union else 0.0
    contain = n_shared / small if small else 0.0
    len_ratio = small / max(len(ta), len(tb)) if small else 0.0
    ra, rb = _rarest_outside(sa, tb), _rarest_outside(sb, ta)
    shared_max = next((w for w, t in sa.ranked if t in tb), 0.0)
    na, nb = len(a.numbers - b.numbers), len(b.numbers - a.numbers)
    brand_in = NAN
    if a.brand or b.brand:
        brand_in = float(
            bool(
                (a.brand and (a.brand in tb or a.brand.replace(" ", "") in b.condensed))
                or (b.brand and (b.brand in ta or b.brand.replace(" ", "") in a.condensed))
            )
        )
    return [
        jacc,
        contain,
        len_ratio,
        max(ra, rb),
        min(ra, rb),
        shared_max,
        float(max(na, nb)),
        float(min(na, nb)),
        float(sa.first == sb.first),
        brand_in,
    ]


def kv_features(a: Prepared, b: Prepared) -> list[float]:
    """kv_shared, kv_val_jacc, mpn_sim, mpn_in_title, brand_kv_eq, then one per ``KV_KEYS`` key:
    1 equal, 0 different, nan when a side lacks it."""
    ka, kb = a.kv, b.kv
    common = ka.keys() & kb.keys()
    items_a, items_b = set(ka.items()), set(kb.items())
    union = len(items_a | items_b)
    val_jacc = len(items_a & items_b) / union if union else NAN
    ma, mb = ka.get("mpn"), kb.get("mpn")
    mpn_sim = Indel.normalized_similarity(ma, mb) if ma and mb else NAN
    mpn_in = NAN
    if ma or mb:
        mpn_in = float(
            bool(
                (ma and len(ma) >= 3 and _squash(ma) in b.condensed)
                or (mb and len(mb) >= 3 and _squash(mb) in a.condensed)
            )
        )
    brand_eq = float(a.brand == b.brand) if a.brand and b.brand else NAN
    per_key = [(float(ka[k] == kb[k]) if k in common else NAN) for k in KV_KEYS]
    return [float(len(common)), val_jacc, mpn_sim, mpn_in, brand_eq, *per_key]


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 2] for i in range(len(text) - 1)) if len(text) > 1 else frozenset({text})


def cooc_terms(a: Prepared, b: Prepared) -> set[str]:
    """The pair's word co-occurrence terms (the Word-Cooc baseline of WDC Products, over title tokens and model
    codes ``#code``): ``x|y`` for a word of one title and another word of the other (sorted, so the pair is
    unordered), ``=x`` for a word in both, ``~x`` for a word in one only."""
    wa = a.tokens | {"#" + c for c in a.codes}
    wb = b.tokens | {"#" + c for c in b.codes}
    terms = {(x + "|" + y if x <= y else y + "|" + x) for x in wa for y in wb if x != y}
    terms.update("=" + x for x in wa & wb)
    terms.update("~" + x for x in wa ^ wb)
    return terms


class Cooc:
    """A learned weight per co-occurrence term (logistic regression on a train split, ``learn.fit_cooc``);
    the ``cooc`` feature is the pair's log-odds: bias + the weights of its terms (unknown terms weigh 0)."""

    def __init__(self, weights: dict[str, float], bias: float) -> None:
        self.weights, self.bias = weights, bias

    def score(self, terms: Iterable[str]) -> float:
        get = self.weights.get
        return math.fsum((self.bias, *(get(t, 0.0) for t in terms)))  # exact: the same whatever the set order

    def to_dict(self) -> dict[str, object]:
        return {"bias": self.bias, "weights": self.weights}


def cooc_path(model: str):
    """``models/<model stem>-cooc.json``: the co-occurrence weights that go with a tree model."""
    return MODELS_DIR / f"{model.removesuffix('.json')}-cooc.json"


@lru_cache(maxsize=8)
def load_cooc(model: str) -> Cooc | None:
    """The co-occurrence weights fitted with tree model ``model`` (cached), or None: ``cooc`` is then nan."""
    path = cooc_path(model)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Cooc(data["weights"], float(data["bias"]))


def extra_rows(
    prepared: Sequence[Prepared],
    pairs: Sequence[tuple[int, int]],
    vocab: Vocabulary,
    model: str = "",
    cooc: Cooc | None = None,
) -> list[list[float]]:
    """``EXTRA_FEATURES`` for each pair of indices; ``cooc`` read with ``model``'s weights (or ``cooc``)."""
    cooc = cooc or (load_cooc(model) if model else None)
    sides: dict[int, _Side] = {}
    stated = {prepared[k].brand for pair in pairs for k in pair}  # brands of the records being compared
    brands = frozenset(b for b in stated if b and " " not in b and len(b) > 1)
    rows: list[list[float]] = []
    for i, j in pairs:
        a, b = prepared[i], prepared[j]
        sa = sides.get(i) or sides.setdefault(i, _Side(a, vocab, brands))
        sb = sides.get(j) or sides.setdefault(j, _Side(b, vocab, brands))
        ga, gb = sa.grams, sb.grams
        inter = len(ga & gb)
        char_jacc = inter / (len(ga) + len(gb) - inter) if ga or gb else 0.0
        char_contain = inter / min(len(ga), len(gb)) if ga and gb else 0.0
        price = (
            abs(math.log(a.price / b.price)) if a.price and b.price and a.price > 0 and b.price > 0 else NAN
        )
        cat = float(a.category == b.category) if a.category and b.category else NAN
        rows.append(
            [
                *code_features(a, b),
                *token_features(a, b, sa, sb),
                char_jacc,
                char_contain,
                price,
                cat,
                *kv_features(a, b),
                *glued_features(sa, sb),
                *corpus_features(sa, sb),
                cooc.score(cooc_terms(a, b)) if cooc else NAN,
            ]
        )
    return rows
