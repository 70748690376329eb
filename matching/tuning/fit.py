"""Fit the pair model: word weights and gradient-boosted trees on pooled *train* splits, the tree settings,
threshold and vetoes chosen on the pooled *valid* splits. Test splits are never read here.

The shipped default (``matching/models/default.json``) is fitted on every shared set plus demo catalogues
of several seeds: ``bijia model fit --out matching/models/default.json``. The same code fits on one set
(``bijia eval-matching DIR --fit``), on all sets but one (the transfer report), or on the pooled sets plus a
merchandiser's decisions (``bijia model fit``). Deterministic: the same inputs give the same file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn import __version__ as sklearn_version
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from matching.attributes import VARIANT_KEYS
from matching.features import FEATURES, hard_vetoes, pair_features, word_terms
from matching.identity import Identity, identity_of
from matching.identity_vetoes import IDENTITY_CHECKS, conflict
from matching.model import PairModel, WordWeights
from matching.record_table import RecordTable

from .datasets import PairSet, load
from .evaluate import Scored, prepared_of

SOURCES = ("abt-buy", "wdc-products", "ali-ember-zh", "demo")
"""The pooled sets of the shipped default (train splits fit, valid splits choose)."""
TREE_GRID: tuple[dict[str, Any], ...] = (
    {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 15, "max_depth": 5},
    {"learning_rate": 0.1, "max_iter": 120, "max_leaf_nodes": 31, "max_depth": 6},
    {"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 15, "max_depth": 5},
)
"""Gradient-boosting settings tried (each fitted on train, compared on valid; a tie goes to the earlier)."""
IDENTITY_CHOICES: tuple[tuple[tuple[str, ...], float], ...] = (
    ((), 2.0),
    *(
        (checks, bar)
        for checks in (("variant",), ("variant", "words"), IDENTITY_CHECKS)
        for bar in (0.8, 0.9, 0.95, 2.0)
    ),
)
"""(identity checks that veto, the score that overrides them) tried on valid."""
VETOES = VARIANT_KEYS
"""Variant attributes whose conflict always forbids a merge — not chosen on valid: real variants (128GB and
256GB, 6 and 12 cans) never merge, whatever it costs on a benchmark (on the pooled valid splits of the
first default: mean F1 0.868 without, 0.861 with)."""
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.01), 2)
WORD_MIN_PAIRS = 2
WORD_PRUNE = 0.02
FOLDS = 5
NEGATIVES_PER_POSITIVE = 4.0
LOCAL = "local"
"""The group name of a merchandiser's decisions."""


@dataclass
class Part:
    """One labelled split, featurised (the ``words`` column filled in later)."""

    group: str
    scored: Scored
    labels: np.ndarray
    terms: list[tuple[set[str], set[str]]]
    weights: np.ndarray
    """Sample weights within the set (1, or more for the kept negatives of a thinned set)."""

    @property
    def x(self) -> np.ndarray:
        return self.scored.features


def featurise(ps: PairSet, group: str, weights: np.ndarray | None = None) -> Part:
    prepared, vocab = prepared_of(ps)
    left, right = (np.array(side, dtype=np.int64) for side in zip(*ps.pairs, strict=True))
    x = pair_features(RecordTable(prepared, vocab, None), left, right)
    terms = [word_terms(prepared[i], prepared[j]) for i, j in ps.pairs]
    scored = Scored(ps, prepared, np.zeros(len(ps.pairs)), x)
    labels = np.asarray(ps.labels, dtype=np.int64)
    return Part(group, scored, labels, terms, np.ones(len(labels)) if weights is None else weights)


def thinned(
    ps: PairSet, negatives_per_positive: float = NEGATIVES_PER_POSITIVE
) -> tuple[PairSet, np.ndarray]:
    """The positives and an even sample of the negatives of a large set (the demo's candidate pairs are
    mostly easy negatives), each kept negative weighing for those left out."""
    labels = np.asarray(ps.labels)
    positives, negatives = int(labels.sum()), int((labels == 0).sum())
    rate = min(1.0, negatives_per_positive * positives / max(negatives, 1))
    if rate >= 1.0:
        return ps, np.ones(len(labels))
    step = 1.0 / rate
    chosen = set(np.floor(np.arange(0, negatives, step)).astype(int).tolist())
    keep, seen = [], 0
    for k, y in enumerate(ps.labels):
        if y or seen in chosen:
            keep.append(k)
        seen += 0 if y else 1
    pairs = [ps.pairs[k] for k in keep]
    kept = [ps.labels[k] for k in keep]
    weights = np.where(np.asarray(kept) == 1, 1.0, negatives / len(chosen))
    return PairSet(ps.name, ps.records, pairs, kept), weights


def _design(terms: Sequence[tuple[set[str], set[str]]], columns: dict[str, int]) -> sparse.csr_matrix:
    rows = [
        sorted({columns[t] for t in (*("=" + w for w in shared), *("~" + w for w in only)) if t in columns})
        for shared, only in terms
    ]
    ptr = np.cumsum([0, *map(len, rows)])
    data = np.ones(int(ptr[-1]))
    return sparse.csr_matrix((data, [c for r in rows for c in r], ptr), shape=(len(rows), len(columns)))


def fit_words(
    terms: Sequence[tuple[set[str], set[str]]], labels: np.ndarray, weights: np.ndarray
) -> WordWeights:
    """L2 logistic regression over the pairs' words (``=word`` in both titles, ``~word`` in one only) seen
    in at least ``WORD_MIN_PAIRS`` pairs; weights under ``WORD_PRUNE`` dropped."""
    counts = Counter(
        t for shared, only in terms for t in (*("=" + w for w in shared), *("~" + w for w in only))
    )
    names = sorted(t for t, n in counts.items() if n >= WORD_MIN_PAIRS)
    columns = {t: k for k, t in enumerate(names)}
    fit = LogisticRegression(C=1.0, solver="liblinear", dual=True, random_state=0, max_iter=1000).fit(
        _design(terms, columns), labels, sample_weight=weights
    )
    kept = [
        (t, round(float(w), 3)) for t, w in zip(names, fit.coef_.ravel(), strict=True) if abs(w) >= WORD_PRUNE
    ]
    return WordWeights(
        bias=round(float(fit.intercept_[0]), 3),
        shared={t[1:]: w for t, w in kept if t[0] == "="},
        only={t[1:]: w for t, w in kept if t[0] == "~"},
    )


def word_score(words: WordWeights, terms: Sequence[tuple[set[str], set[str]]]) -> np.ndarray:
    """The ``words`` and ``words_known`` features of each pair, as the runtime computes them from the record
    table: bias + the weights of the pair's shared and one-sided words; the share of its words with a weight."""
    out = np.zeros((len(terms), 2))
    for k, (shared, only) in enumerate(terms):
        w = [*(words.shared.get(x) for x in shared), *(words.only.get(x) for x in only)]
        known = [v for v in w if v is not None]
        out[k] = math.fsum((words.bias, *known)), len(known) / len(w) if w else 0.0
    return out


DOMAIN_OUT = 3
"""Every third train pair of a set gets its word features from weights fitted on the *other* sets only, so
the trees also learn how far to trust them on a catalogue whose words were never seen (``words_known``)."""


def out_of_fold_words(
    terms: list[tuple[set[str], set[str]]], labels: np.ndarray, weights: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """Each train pair's word features from weights fitted without its fold (so the trees never learn from a
    score that saw the pair's own label); for every ``DOMAIN_OUT``-th pair of each set, without its set."""
    out = np.zeros((len(terms), 2))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(np.zeros(len(labels)), labels)
    for rest, held in folds:
        words = fit_words([terms[k] for k in rest], labels[rest], weights[rest])
        out[held] = word_score(words, [terms[k] for k in held])
    order = np.zeros(len(groups), dtype=np.int64)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        order[members] = np.arange(len(members))
        held = members[order[members] % DOMAIN_OUT == 0]
        rest = np.flatnonzero(groups != g)
        if len(np.unique(groups)) > 1 and len(held):
            words = fit_words([terms[k] for k in rest], labels[rest], weights[rest])
            out[held] = word_score(words, [terms[k] for k in held])
    return out


def balanced_weights(parts: Sequence[Part], local_weight: float = 1.0) -> np.ndarray:
    """Sample weights giving each set the same total (so the largest set does not decide alone); the
    merchandiser's decisions (group ``local``) count ``local_weight`` sets."""
    share = {p.group: local_weight if p.group == LOCAL else 1.0 for p in parts}
    sizes: Counter[str] = Counter()
    for p in parts:
        sizes[p.group] += len(p.labels)
    mean = sum(sizes.values()) / len(sizes)
    totals: dict[str, float] = {}
    for p in parts:
        totals[p.group] = totals.get(p.group, 0.0) + float(p.weights.sum())
    return np.concatenate([p.weights * share[p.group] * mean / totals[p.group] for p in parts])


def fit_trees(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, params: dict[str, Any]
) -> HistGradientBoostingClassifier:
    settings = {"l2_regularization": 1.0, "early_stopping": False, "random_state": 0, **params}
    x = x.copy()
    x[:, np.isnan(x).all(axis=0)] = 0.0  # a signal absent from every pair: scikit-learn cannot bin it
    return HistGradientBoostingClassifier(**settings).fit(x, y, sample_weight=weights)


def _node_values(nodes: np.ndarray, lr: float) -> list[float]:
    """Leaf values as fitted; an inner node's value is its children's, weighted by training counts (so the
    explanation credits each split with the change it makes)."""
    value = [0.0] * len(nodes)

    def walk(k: int) -> tuple[float, int]:
        node = nodes[k]
        if node["is_leaf"]:
            value[k] = float(node["value"])
            return value[k], int(node["count"])
        lv, lc = walk(int(node["left"]))
        rv, rc = walk(int(node["right"]))
        value[k] = (lv * lc + rv * rc) / max(lc + rc, 1)
        return value[k], lc + rc

    walk(0)
    return [round(v, 6) for v in value]


def export_trees(clf: HistGradientBoostingClassifier) -> dict[str, Any]:
    """A fitted binary ``HistGradientBoostingClassifier`` as the JSON structure ``model.TreeModel`` reads."""
    trees, depth = [], 1
    for (predictor,) in clf._predictors:  # one tree per iteration for a binary classifier
        nodes = predictor.nodes
        leaf = nodes["is_leaf"] != 0
        trees.append(
            {
                "feature": [
                    -1 if is_leaf else int(f) for f, is_leaf in zip(nodes["feature_idx"], leaf, strict=True)
                ],
                "threshold": [
                    0 if is_leaf else float(t)
                    for t, is_leaf in zip(nodes["num_threshold"], leaf, strict=True)
                ],
                "missing_left": [int(m) for m in nodes["missing_go_to_left"]],
                "left": [int(x) for x in nodes["left"]],
                "right": [int(x) for x in nodes["right"]],
                "value": _node_values(nodes, clf.learning_rate),
            }
        )
        depth = max(depth, int(nodes["depth"].max()) + 1)
    return {"baseline": round(float(clf._baseline_prediction.ravel()[0]), 6), "depth": depth, "trees": trees}


@dataclass
class Choice:
    """One candidate of the valid-split search and how it did."""

    macro_f1: float
    f1: dict[str, float]
    params: dict[str, Any]
    vetoes: tuple[str, ...]
    identity_vetoes: tuple[str, ...]
    identity_bar: float
    threshold: float

    @property
    def settings(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "vetoes": list(self.vetoes),
            "identity_vetoes": list(self.identity_vetoes),
            "identity_bar": self.identity_bar,
        }


def _final_probs(raw: np.ndarray, x: np.ndarray, vetoes: Sequence[str]) -> np.ndarray:
    probs = np.where(x[:, FEATURES.index("gtin_eq")] == 1, 1.0, raw)
    return np.where(hard_vetoes(x, vetoes, gtin_decides=True), 0.0, probs)


class IdentityFlags:
    """Per pair of a part, which identity checks object (computed once, for the pairs a model scores over
    the lowest threshold)."""

    def __init__(self, part: Part) -> None:
        self.part = part
        self.flags = np.zeros((len(part.labels), len(IDENTITY_CHECKS)), dtype=bool)
        self.done = np.zeros(len(part.labels), dtype=bool)
        self.ids: dict[int, Identity] = {}

    def _id(self, i: int) -> Identity:
        got = self.ids.get(i)
        if got is None:
            got = self.ids[i] = identity_of(self.part.scored.ps.records[i], self.part.scored.prepared[i])
        return got

    def of(self, probs: np.ndarray) -> np.ndarray:
        todo = np.flatnonzero((probs >= THRESHOLDS[0]) & ~self.done)
        for k in todo.tolist():
            i, j = self.part.scored.ps.pairs[k]
            a, b = self._id(i), self._id(j)
            self.flags[k] = [conflict(a, b, (check,)) is not None for check in IDENTITY_CHECKS]
        self.done[todo] = True
        return self.flags


def _f1_curve(y: np.ndarray, probs: np.ndarray, objected: np.ndarray, bar: float) -> np.ndarray:
    """F1 at each of ``THRESHOLDS``; pairs ``objected`` to (an identity check) need ``bar`` as well."""
    keep = ~(objected & (probs < bar))
    return np.array(
        [
            2 * tp / (int(pred.sum()) + int(y.sum()))
            if (tp := int((y & (pred := keep & (probs >= t))).sum()))
            else 0.0
            for t in THRESHOLDS
        ]
    )


def choose(
    model: PairModel, parts: Sequence[Part], flags: Sequence[IdentityFlags], params: dict[str, Any]
) -> list[Choice]:
    """Every identity-veto choice with its best threshold by the mean F1 over the valid sets (each set
    counts once; a merchandiser's decisions, when there are any, count as one more set)."""
    out = []
    probs = [_final_probs(model.probabilities(p.x), p.x, VETOES) for p in parts]
    objections = [f.of(pr) for f, pr in zip(flags, probs, strict=True)]
    for checks, bar in IDENTITY_CHOICES:
        columns = [IDENTITY_CHECKS.index(c) for c in checks]
        curves = {
            p.group: _f1_curve(p.labels.astype(bool), pr, np.asarray(o[:, columns].any(axis=1)), bar)
            for p, pr, o in zip(parts, probs, objections, strict=True)
        }
        mean = np.mean(list(curves.values()), axis=0)
        best = int(np.argmax(mean))
        f1 = {g: round(float(c[best]), 4) for g, c in curves.items()}
        out.append(
            Choice(round(float(mean[best]), 4), f1, params, VETOES, checks, bar, float(THRESHOLDS[best]))
        )
    return out


WORD_COLUMNS = [FEATURES.index("words"), FEATURES.index("words_known")]


def _with_words(parts: Sequence[Part], columns: np.ndarray) -> np.ndarray:
    x = np.concatenate([p.x for p in parts])
    x[:, WORD_COLUMNS] = columns
    return x


def _set_words(parts: Sequence[Part], words: WordWeights) -> None:
    for p in parts:
        p.x[:, WORD_COLUMNS] = word_score(words, p.terms)


def fit_model(
    train: Sequence[Part],
    valid: Sequence[Part],
    grid: Sequence[dict[str, Any]] = TREE_GRID,
    local_weight: float = 1.0,
) -> tuple[PairModel, dict[str, Any]]:
    """Fit on ``train`` (word weights, then trees per grid setting), choose on ``valid``."""
    y = np.concatenate([p.labels for p in train])
    weights = balanced_weights(train, local_weight)
    terms = [t for p in train for t in p.terms]
    groups = np.concatenate([np.full(len(p.labels), p.group) for p in train])
    x = _with_words(train, out_of_fold_words(terms, y, weights, groups))
    words = fit_words(terms, y, weights)
    _set_words(valid, words)
    best: tuple[Choice, dict[str, Any]] | None = None
    tried = []
    flags = [IdentityFlags(p) for p in valid]
    for params in grid:
        trees = export_trees(fit_trees(x, y, weights, params))
        model = PairModel.from_dict(_model_data(trees, words, {}, {}))
        for choice in choose(model, valid, flags, params):
            tried.append(choice)
            if best is None or choice.macro_f1 > best[0].macro_f1:
                best = (choice, trees)
    assert best is not None
    choice, trees = best
    settings = choice.settings
    meta = {
        "fit_on": {p.scored.ps.name: [len(p.labels), int(p.labels.sum())] for p in train},
        "chosen_on": {p.scored.ps.name: [len(p.labels), int(p.labels.sum())] for p in valid},
        "valid_f1": choice.f1,
        "valid_macro_f1": choice.macro_f1,
        "trees": choice.params,
        "words": {"shared": len(words.shared), "only": len(words.only)},
        "local_weight": local_weight,
        "scikit_learn": sklearn_version,
        "tried": [[c.params, c.settings, c.macro_f1] for c in tried],
    }
    return PairModel.from_dict(_model_data(trees, words, settings, meta)), meta


def _model_data(
    trees: dict[str, Any], words: WordWeights, settings: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    return {
        "format": 2,
        "features": list(FEATURES),
        **trees,
        "words": words.to_dict(),
        "settings": settings,
        "meta": meta,
    }


def parts_of(sources: Sequence[str], split: str, columns: dict[str, str] | None = None) -> list[Part]:
    """Each source's split, featurised; train splits of the demo are thinned (``thinned``)."""
    out = []
    for name in sources:
        ps = load(name, split, columns)
        weights = None
        if split == "train" and name == "demo":
            ps, weights = thinned(ps)
        out.append(featurise(ps, name.partition("/")[0], weights))
    return out


def fit_default(
    decisions: PairSet | None = None,
    local_weight: float = 1.0,
    sources: Sequence[str] = SOURCES,
    grid: Sequence[dict[str, Any]] = TREE_GRID,
) -> tuple[PairModel, dict[str, Any]]:
    """The default model: pooled train splits of ``sources`` (+ a merchandiser's labelled ``decisions``),
    chosen on their valid splits (+ every ``LOCAL_HELD_OUT``-th decision, kept out of the fit: the choice
    then also weighs how the model does on this catalogue)."""
    train, valid = parts_of(sources, "train"), parts_of(sources, "valid")
    if decisions is not None and decisions.pairs:
        fit_on, held_out = split_decisions(decisions)
        train.append(featurise(fit_on, LOCAL))
        if held_out.pairs and 0 < sum(held_out.labels) < len(held_out.labels):
            valid.append(featurise(held_out, LOCAL))
    return fit_model(train, valid, grid, local_weight)


LOCAL_HELD_OUT = 3


def split_decisions(decisions: PairSet) -> tuple[PairSet, PairSet]:
    """The decisions to fit on and every ``LOCAL_HELD_OUT``-th one (in order) to choose on."""
    k = range(len(decisions.pairs))
    parts = [[n for n in k if (n % LOCAL_HELD_OUT != LOCAL_HELD_OUT - 1) == keep] for keep in (True, False)]
    return tuple(  # type: ignore[return-value]
        PairSet(
            decisions.name,
            decisions.records,
            [decisions.pairs[n] for n in p],
            [decisions.labels[n] for n in p],
        )
        for p in parts
    )
