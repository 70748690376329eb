"""Stage 4 — score candidate pairs.

Each pair gets a feature vector (rapidfuzz similarities of normalised titles, IDF-weighted token overlap,
identifier agreement, brand, variant attributes, price) and a match probability from a logistic model
whose weights live in ``MatchConfig`` (tuned on train/valid splits, see ``matching.learn``). String
similarities are computed in batches with rapidfuzz's ``cpdist`` (C++, ``workers``) when numpy is there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rapidfuzz import fuzz

from .attributes import attribute_conflict
from .config import MatchConfig
from .prepare import Prepared, Vocabulary

FEATURES: tuple[str, ...] = (
    "tset",
    "tsort",
    "ratio",
    "partial",
    "idf_jacc",
    "gtin_eq",
    "gtin_ne",
    "code_eq",
    "code_conflict",
    "desc_code",
    "brand_eq",
    "brand_ne",
    "attr_agree",
    "attr_conflict",
    "num_jacc",
    "variant_word_diff",
    "kv_eq",
    "kv_ne",
    "price_dev",
    "cat_ne",
    "bare_num_conflict",
)
_FUZZ = (
    ("tset", fuzz.token_set_ratio),
    ("tsort", fuzz.token_sort_ratio),
    ("ratio", fuzz.ratio),
    ("partial", fuzz.partial_ratio),
)


def _found(code: str, other: Prepared) -> bool:
    if code in other.codes:
        return True
    start = other.condensed.find(code)
    while start >= 0:
        if start in other.bounds and start + len(code) in other.bounds:
            return True
        start = other.condensed.find(code, start + 1)
    return False


def identifier_features(a: Prepared, b: Prepared) -> tuple[float, float, float, float, float]:
    """gtin_eq, gtin_ne, code_eq, code_conflict, desc_code."""
    gtin_eq = gtin_ne = 0.0
    if a.gtin and b.gtin:
        gtin_eq, gtin_ne = (1.0, 0.0) if a.gtin == b.gtin else (0.0, 1.0)
    code_eq = code_conflict = desc = 0.0
    if a.codes or b.codes:
        if any(_found(c, b) for c in a.codes) or any(_found(c, a) for c in b.codes):
            code_eq = 1.0
        elif a.codes and b.codes:
            code_conflict = 1.0
        if not code_eq and ((a.codes & b.desc_codes) or (b.codes & a.desc_codes)):
            desc = 1.0
    return gtin_eq, gtin_ne, code_eq, code_conflict, desc


def attribute_features(a: Prepared, b: Prepared, vetoes: Sequence[str]) -> tuple[float, float, list[str]]:
    """attr_agree (count), attr_conflict (count), and the vetoes fired."""
    agree = conflict = 0.0
    fired: list[str] = []
    for key, va in a.attrs.items():
        vb = b.attrs.get(key)
        if vb is None:
            continue
        if attribute_conflict(key, va, vb):
            conflict += 1
            if key in vetoes:
                fired.append(f"{key}: {va} ≠ {vb}")
        else:
            agree += 1
    return agree, conflict, fired


def other_features(a: Prepared, b: Prepared, vocab: Vocabulary) -> list[float]:
    """idf_jacc, brand_eq, brand_ne, num_jacc, variant_word_diff, kv_eq, kv_ne, price_dev, cat_ne,
    bare_num_conflict."""
    shared = a.tokens & b.tokens
    shared_w = sum(vocab.idf(t) for t in shared) if shared else 0.0
    union_w = vocab.weight(a.tokens) + vocab.weight(b.tokens) - shared_w
    idf_jacc = shared_w / union_w if union_w > 1e-9 else 0.0
    brand_eq = brand_ne = 0.0
    if a.brand and b.brand:
        brand_eq, brand_ne = (1.0, 0.0) if a.brand == b.brand else (0.0, 1.0)
    nums = a.numbers | b.numbers
    num_jacc = len(a.numbers & b.numbers) / len(nums) if nums else 0.5
    vw = 1.0 if a.variant_words != b.variant_words else 0.0
    kv_eq = kv_ne = 0.0
    common = a.kv.keys() & b.kv.keys()
    if common:
        eq = sum(1 for k in common if a.kv[k] == b.kv[k])
        kv_eq, kv_ne = eq / len(common), (len(common) - eq) / len(common)
    price_dev = 0.0
    if a.price and b.price and a.price > 0 and b.price > 0:
        price_dev = min(abs(math.log(a.price / b.price)), 2.0)
    cat_ne = 1.0 if a.category and b.category and a.category != b.category else 0.0
    bare = 1.0 if a.bare_numbers and b.bare_numbers and a.bare_numbers != b.bare_numbers else 0.0
    return [idf_jacc, brand_eq, brand_ne, num_jacc, vw, kv_eq, kv_ne, price_dev, cat_ne, bare]


def _string_scores(left: list[str], right: list[str], workers: int) -> list[list[float]]:
    """Per scorer, the pairwise similarities (0..1) of left[i] vs right[i]."""
    from rapidfuzz.process import cpdist

    return [(cpdist(left, right, scorer=scorer, workers=workers) / 100.0).tolist() for _, scorer in _FUZZ]


def feature_rows(
    prepared: Sequence[Prepared], pairs: Sequence[tuple[int, int]], vocab: Vocabulary, config: MatchConfig
) -> tuple[list[list[float]], list[list[str]]]:
    """Feature vectors (in ``FEATURES`` order, then ``features.EXTRA_FEATURES`` when ``config.model`` names a
    tree model) and fired vetoes for each pair of indices."""
    if not pairs:
        return [], []
    strings = _string_scores(
        [prepared[i].norm for i, _ in pairs], [prepared[j].norm for _, j in pairs], config.workers
    )
    rows: list[list[float]] = []
    vetoes: list[list[str]] = []
    for n, (i, j) in enumerate(pairs):
        a, b = prepared[i], prepared[j]
        ids = identifier_features(a, b)
        agree, conflict, fired = attribute_features(a, b, config.vetoes)
        o = other_features(a, b, vocab)
        rows.append(
            [
                strings[0][n],
                strings[1][n],
                strings[2][n],
                strings[3][n],
                o[0],
                *ids,
                o[1],
                o[2],
                agree,
                conflict,
                o[3],
                o[4],
                o[5],
                o[6],
                o[7],
                o[8],
                o[9],
            ]
        )
        if config.gtin_decides and ids[1]:
            fired.append("gtin differs")
        if "numbers" in config.vetoes and o[9]:
            fired.append(
                f"model numbers: {' '.join(sorted(a.bare_numbers))} ≠ {' '.join(sorted(b.bare_numbers))}"
            )
        vetoes.append(fired)
    if config.model:
        from .features import extra_rows

        extra = extra_rows(prepared, pairs, vocab, config.model)  # the model's co-occurrence weights, if any
        rows = [r + e for r, e in zip(rows, extra, strict=True)]
    return rows, vetoes


def probability(row: Sequence[float], config: MatchConfig) -> float:
    z = config.bias + sum(
        config.weights.get(name, 0.0) * value for name, value in zip(FEATURES, row, strict=True)
    )
    if config.gtin_decides and row[5]:  # equal valid GTINs
        return 1.0
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def probabilities(
    rows: Sequence[Sequence[float]], vetoes: Sequence[Sequence[str]], config: MatchConfig
) -> list[float]:
    """Match probability per feature row: the tree model when ``config.model`` names one, else the logistic
    weights; 0 when a veto fired, 1 for equal GTINs (``gtin_decides``)."""
    if not config.model:
        return [0.0 if v else probability(r, config) for r, v in zip(rows, vetoes, strict=True)]
    from .features import EXTRA_FEATURES
    from .model import load_model

    model = load_model(config.model)
    if model.features != [*FEATURES, *EXTRA_FEATURES]:
        raise ValueError(
            f"model {config.model} was fitted on other features; refit it (matching.learn.tune_trees)"
        )
    probs = model.predict(rows)
    gtin = FEATURES.index("gtin_eq")
    return [
        0.0 if v else (1.0 if config.gtin_decides and r[gtin] else p)
        for p, r, v in zip(probs, rows, vetoes, strict=True)
    ]


def score_pairs(
    prepared: Sequence[Prepared], pairs: Sequence[tuple[int, int]], vocab: Vocabulary, config: MatchConfig
) -> tuple[list[float], list[list[str]]]:
    """Match probability (0 when a veto fires) and the vetoes fired, per pair."""
    rows, vetoes = feature_rows(prepared, pairs, vocab, config)
    return probabilities(rows, vetoes, config), vetoes


def method_of(a: Prepared, b: Prepared) -> str:
    """Which signal made the match: ``gtin``, ``model`` or ``title``."""
    ids = identifier_features(a, b)
    if ids[0]:
        return "gtin"
    if ids[2]:
        return "model"
    return "title"
