"""Tuning: fit the scorer's weights on a train split, pick the threshold on the valid split.

Logistic regression (L2, full-batch gradient descent in numpy) over ``scoring.FEATURES`` (``tune``), or
gradient-boosted trees over those plus ``features.EXTRA_FEATURES`` (``tune_trees``, needs scikit-learn; with
``cooc=True`` also the word co-occurrence weights of the ``cooc`` feature, ``fit_cooc``). The test split
is never read here. ``tune()`` writes the result under a profile name in ``tuned.json`` together with what
was tuned and on which split.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .config import TUNED_PATH, MatchConfig
from .evaluate import decide, featurise, load
from .features import EXTRA_FEATURES, Cooc, cooc_path, cooc_terms, load_cooc
from .scoring import FEATURES


def fit_logistic(
    rows: Sequence[Sequence[float]],
    labels: Sequence[int],
    l2: float = 1e-3,
    steps: int = 3000,
    lr: float = 0.5,
) -> tuple[list[float], float]:
    """Weights and bias of an L2-regularised logistic regression (features standardised while fitting)."""
    import numpy as np

    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    pos = y.mean()
    sw = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))  # balanced classes
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        g = (p - y) * sw / len(y)
        w -= lr * (z.T @ g + l2 * w)
        b -= lr * g.sum()
    weights = w / sd
    return weights.tolist(), float(b - (weights * mu).sum())


def best_threshold(ps, prepared, rows, vetoes, config: MatchConfig) -> tuple[float, float]:
    """(best F1, threshold) on a split: a fine sweep for pairwise decisions, a coarser one with 1:1 grouping."""
    from .scoring import probabilities

    return best_threshold_of(ps, prepared, probabilities(rows, vetoes, config), config)


def best_threshold_of(
    ps, prepared, probs: Sequence[float], config: MatchConfig, step: float = 0.05
) -> tuple[float, float]:
    """(best F1, threshold) for given probabilities; sets ``config.threshold`` while sweeping."""
    import numpy as np

    probs_a, labels = np.asarray(probs), np.asarray(ps.labels)
    best = (0.0, 0.5)
    grid = (
        [i / 100 for i in range(5, 100)]
        if not config.one_per_marketplace
        else [round(i * step, 3) for i in range(1, round(1 / step))]
    )
    for t in grid:
        config.threshold = t
        pred = np.asarray(decide(ps, prepared, probs, config)) if config.one_per_marketplace else probs_a >= t
        tp = int((pred & (labels == 1)).sum())
        fp, fn = int(pred.sum()) - tp, int((labels == 1).sum()) - tp
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best[0]:
            best = (f1, t)
    return best


def tune(
    dataset: str,
    profile: str | None = None,
    train: str = "train",
    valid: str = "valid",
    base: MatchConfig | None = None,
    write: bool = True,
) -> tuple[MatchConfig, dict]:
    """Fit weights on ``train``; choose l2, vetoes, 1:1 linkage and threshold on ``valid``; save the profile."""
    base = base or MatchConfig()
    profile = profile or dataset.partition("/")[0]
    tr, va = load(dataset, train), load(dataset, valid)
    trials = []
    for cjk in {"bigram", "jieba"} if dataset.startswith("ali") else {base.cjk_tokens}:
        cfg0 = MatchConfig.from_dict({**base.to_dict(), "cjk_tokens": cjk, "profile": profile})
        _, tr_rows, _ = featurise(tr, cfg0)
        va_prep, va_rows, va_vetoes = featurise(va, cfg0)
        for l2 in (1e-4, 1e-2):
            weights, bias = fit_logistic(tr_rows, tr.labels, l2=l2)
            for veto in (True,):  # variant vetoes always on: a wrong variant is a wrong price
                for one in (False, True):
                    cfg = MatchConfig.from_dict(
                        {
                            **cfg0.to_dict(),
                            "weights": dict(zip(FEATURES, weights, strict=True)),
                            "bias": bias,
                            "one_per_marketplace": one,
                        }
                    )
                    if not veto:
                        cfg.vetoes = []
                    rows_v = va_vetoes if veto else [[x for x in v if x == "gtin differs"] for v in va_vetoes]
                    f1, t = best_threshold(va, va_prep, va_rows, rows_v, cfg)
                    cfg.threshold = t
                    trials.append((f1, cjk, l2, veto, one, cfg))
    trials.sort(key=lambda x: -x[0])
    f1, cjk, l2, veto, one, cfg = trials[0]
    record = {
        "tuned_on": {"fit": f"{dataset}:{train}", "threshold_and_options": f"{dataset}:{valid}"},
        "tuned": [
            "weights",
            "bias (logistic regression on train)",
            "threshold",
            "l2",
            "vetoes on/off",
            "one_per_marketplace",
            "cjk_tokens",
        ],
        "valid_f1": round(f1, 4),
        "choice": {"cjk_tokens": cjk, "l2": l2, "vetoes": veto, "one_per_marketplace": one},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    cfg.notes = f"tuned: fit on {dataset}:{train}, threshold/options on {dataset}:{valid}"
    cfg.weights = {k: round(v, 5) for k, v in cfg.weights.items()}
    cfg.bias = round(cfg.bias, 5)
    if write:
        save_profile(profile, cfg, record)
    return cfg, record


def save_profile(profile: str, config: MatchConfig, record: dict) -> None:
    data = json.loads(TUNED_PATH.read_text(encoding="utf-8")) if TUNED_PATH.exists() else {"profiles": {}}
    data["profiles"][profile] = {"config": config.to_dict(), **record}
    TUNED_PATH.write_text(
        json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


def fit_cooc(
    prepared,
    pairs: Sequence[tuple[int, int]],
    labels: Sequence[int],
    c: float = 1.0,
    min_count: int = 2,
    prune: float = 0.01,
) -> Cooc:
    """Word co-occurrence weights (``features.cooc_terms``): L2 logistic regression over the terms seen in at
    least ``min_count`` pairs; weights below ``prune`` in size are dropped (they barely move the score)."""
    import numpy as np
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    terms = [cooc_terms(prepared[i], prepared[j]) for i, j in pairs]
    counts = Counter(t for ts in terms for t in ts)
    vocab = {t: k for k, t in enumerate(sorted(t for t, n in counts.items() if n >= min_count))}
    cols = [sorted(vocab[t] for t in ts if t in vocab) for ts in terms]
    ptr = np.cumsum([0, *map(len, cols)])
    x = sparse.csr_matrix(
        (np.ones(ptr[-1]), [k for c_ in cols for k in c_], ptr), shape=(len(cols), len(vocab))
    )
    fit = LogisticRegression(C=c, max_iter=3000).fit(x, np.asarray(labels))
    weights = {
        t: round(float(w), 4) for t, w in zip(vocab, fit.coef_.ravel(), strict=True) if abs(w) >= prune
    }
    return Cooc(weights, round(float(fit.intercept_[0]), 4))


def cooc_out_of_fold(
    prepared, pairs: Sequence[tuple[int, int]], labels: Sequence[int], folds: int = 10
) -> list[float]:
    """The ``cooc`` feature of each train pair from weights fitted on the other folds (stratified, fixed seed),
    so the trees do not learn from scores that have seen the pair's own label."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels)
    out = [0.0] * len(pairs)
    for rest, held in StratifiedKFold(folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y):
        cooc = fit_cooc(prepared, [pairs[k] for k in rest], y[rest].tolist())
        for k in held:
            out[k] = cooc.score(cooc_terms(prepared[pairs[k][0]], prepared[pairs[k][1]]))
    return out


TREE_GRID: tuple[dict[str, float], ...] = (
    {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 15, "max_depth": 5},
    {"learning_rate": 0.1, "max_iter": 150, "max_leaf_nodes": 31, "max_depth": 6},
    {"learning_rate": 0.05, "max_iter": 300, "max_leaf_nodes": 15},
    {"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 31},
)
"""Gradient-boosting settings tried by ``tune_trees`` (each fitted on train, compared on valid; on a tie the
earlier, smaller and faster, wins)."""


def tune_trees(
    dataset: str,
    profile: str | None = None,
    train: str = "train",
    valid: str = "valid",
    grid: Sequence[dict[str, float]] = TREE_GRID,
    write: bool = True,
    cooc: bool = False,
) -> tuple[MatchConfig, dict]:
    """Fit gradient-boosted trees on ``train``; choose their settings, variant vetoes on/off, 1:1 linkage and
    the threshold on ``valid``; save ``models/<profile>.json`` and the profile. The test split is not read.
    ``cooc``: also fit word co-occurrence weights on ``train`` (``models/<profile>-cooc.json``); the trees
    learn from out-of-fold ``cooc`` scores of the train pairs. Without it the ``cooc`` feature is nan."""
    from .model import TreeModel, export_hgb, fit_hgb, save_model

    profile = profile or dataset.partition("/")[0]
    base = MatchConfig.load(profile)
    cfg0 = MatchConfig.from_dict(
        {
            **base.to_dict(),
            "model": f"{profile}.json",
            "profile": profile,
            "vetoes": list(MatchConfig().vetoes),
        }
    )
    tr, va = load(dataset, train), load(dataset, valid)
    tr_prep, tr_rows, _ = featurise(tr, cfg0)
    va_prep, va_rows, va_vetoes = featurise(va, cfg0)
    names = [*FEATURES, *EXTRA_FEATURES]
    weights = fit_cooc(tr_prep, tr.pairs, tr.labels) if cooc else None
    col = names.index("cooc")  # never from a saved table: that one may have seen these train pairs
    tr_col = cooc_out_of_fold(tr_prep, tr.pairs, tr.labels) if weights else [float("nan")] * len(tr_rows)
    va_col = [
        weights.score(cooc_terms(va_prep[i], va_prep[j])) if weights else float("nan") for i, j in va.pairs
    ]
    for rows, values in ((tr_rows, tr_col), (va_rows, va_col)):
        for row, value in zip(rows, values, strict=True):
            row[col] = value
    trials = []
    for params in grid:
        data = export_hgb(fit_hgb(tr_rows, tr.labels, **params), names)
        raw = TreeModel(data).predict(va_rows)
        for veto in (True, False):
            probs = [
                0.0 if (v if veto else "gtin differs" in v) else p
                for p, v in zip(raw, va_vetoes, strict=True)
            ]
            for one in (False, True):
                cfg = MatchConfig.from_dict(
                    {**cfg0.to_dict(), "one_per_marketplace": one, "vetoes": cfg0.vetoes if veto else []}
                )
                f1, t = best_threshold_of(va, va_prep, probs, cfg, step=0.02)
                cfg.threshold = t
                trials.append((f1, dict(params), veto, one, cfg, data))
    trials.sort(key=lambda x: -x[0])
    f1, params, veto, one, cfg, data = trials[0]
    record: dict[str, Any] = {
        "tuned_on": {"fit": f"{dataset}:{train}", "threshold_and_options": f"{dataset}:{valid}"},
        "tuned": [
            "gradient-boosted trees (scikit-learn HistGradientBoostingClassifier, fit on train)",
            "tree settings",
            "variant vetoes on/off",
            "one_per_marketplace",
            "threshold",
        ],
        "valid_f1": round(f1, 4),
        "choice": {
            "trees": params,
            "vetoes": veto,
            "one_per_marketplace": one,
            "cooc": len(weights.weights) if weights else False,
        },
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if weights:
        record["tuned"].append(
            "word co-occurrence weights (logistic regression on train, out-of-fold for the trees)"
        )
    cfg.notes = f"tuned: trees fit on {dataset}:{train}, settings/threshold/options on {dataset}:{valid}"
    data["meta"] = {"profile": profile, **record}
    if write:
        save_model(cfg.model, data)
        save_cooc(cfg.model, weights)
        save_profile(profile, cfg, record)
    return cfg, record


def save_cooc(model: str, weights: Cooc | None) -> None:
    """Write (or, for a model without, remove) ``models/<model stem>-cooc.json``."""
    path = cooc_path(model)
    if weights:
        path.write_text(
            json.dumps(weights.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n",
            encoding="utf-8",
        )
    elif path.exists():
        path.unlink()
    load_cooc.cache_clear()
