"""Gradient-boosted trees over ``scoring.FEATURES`` + ``features.EXTRA_FEATURES``, stored as plain JSON.

Fitted with scikit-learn's ``HistGradientBoostingClassifier`` (only ``learn`` imports scikit-learn), then
exported node by node to ``matching/models/<name>.json`` and evaluated here with numpy, so matching needs
neither scikit-learn nor pickles. A node sends a value left when it is ``<= threshold``, a ``nan`` the way
the fitted tree learned (``missing_left``), exactly as scikit-learn's predictor does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).with_name("models")


class TreeModel:
    """Sum of regression trees → logistic probability."""

    def __init__(self, data: dict[str, Any]) -> None:
        import numpy as np

        self.features: list[str] = list(data["features"])
        self.baseline = float(data["baseline"])
        self.meta: dict[str, Any] = data.get("meta", {})
        trees = data["trees"]
        # All trees' nodes in flat arrays; child indices made global; a leaf points at itself, so every
        # row can take ``depth`` steps without checking where it is.
        offsets = np.cumsum([0] + [len(t["value"]) for t in trees])
        self.roots = offsets[:-1]
        leaf = np.concatenate([np.asarray(t["feature"]) < 0 for t in trees])
        here = np.arange(offsets[-1])
        self.feature = np.where(leaf, 0, np.concatenate([t["feature"] for t in trees])).astype(np.int64)
        self.threshold = np.concatenate([t["threshold"] for t in trees]).astype(np.float64)
        self.missing_left = np.concatenate([t["missing_left"] for t in trees]).astype(bool)
        self.left = np.where(
            leaf,
            here,
            np.concatenate([np.asarray(t["left"]) + o for t, o in zip(trees, self.roots, strict=True)]),
        )
        self.right = np.where(
            leaf,
            here,
            np.concatenate([np.asarray(t["right"]) + o for t, o in zip(trees, self.roots, strict=True)]),
        )
        self.value = np.concatenate([t["value"] for t in trees]).astype(np.float64)
        self.depth = int(data.get("depth") or max(len(t["value"]) for t in trees))

    def raw(self, rows: Sequence[Sequence[float]]) -> Any:
        """The trees' summed log-odds for each row (columns in ``self.features`` order)."""
        import numpy as np

        x = np.asarray(rows, dtype=np.float64).reshape(-1, len(self.features))
        flat = x.ravel()
        start = (np.arange(x.shape[0]) * x.shape[1])[None, :]
        node = np.repeat(self.roots[:, None], x.shape[0], axis=1)
        for _ in range(self.depth):
            value = flat[start + self.feature[node]]
            go_left = (value <= self.threshold[node]) | (np.isnan(value) & self.missing_left[node])
            node = np.where(go_left, self.left[node], self.right[node])
        return self.baseline + self.value[node].sum(axis=0)

    def predict(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """Match probability for each row."""
        import numpy as np

        if len(rows) == 0:
            return []
        z = np.clip(self.raw(rows), -50.0, 50.0)
        return (1.0 / (1.0 + np.exp(-z))).tolist()


@lru_cache(maxsize=8)
def load_model(name: str) -> TreeModel:
    """The tree model ``matching/models/<name>`` (cached)."""
    path = MODELS_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"matcher model {path} not found (MatchConfig.model = {name!r})")
    return TreeModel(json.loads(path.read_text(encoding="utf-8")))


def export_hgb(clf: Any, features: Sequence[str], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fitted binary ``HistGradientBoostingClassifier`` as the JSON structure ``TreeModel`` reads."""
    trees, depth = [], 1
    for (predictor,) in clf._predictors:  # one tree per iteration for a binary classifier
        nodes = predictor.nodes
        if (nodes["is_categorical"] != 0).any():
            raise ValueError("categorical splits are not exported")
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
                "value": [
                    round(float(v), 6) if is_leaf else 0
                    for v, is_leaf in zip(nodes["value"], leaf, strict=True)
                ],
            }
        )
        depth = max(depth, int(nodes["depth"].max()) + 1)
    baseline = float(clf._baseline_prediction.ravel()[0])
    return {
        "features": list(features),
        "baseline": baseline,
        "depth": depth,
        "trees": trees,
        "meta": meta or {},
    }


def fit_hgb(rows: Any, labels: Sequence[int], **params: Any) -> Any:
    """Fit scikit-learn's gradient boosting deterministically (fixed seed, no early stopping)."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.array(rows, dtype=np.float64)
    x[:, np.isnan(x).all(axis=0)] = 0.0  # a signal absent from the whole split: scikit-learn cannot bin it
    settings = {
        "learning_rate": 0.05,
        "max_iter": 300,
        "max_leaf_nodes": 15,
        "l2_regularization": 1.0,
        "early_stopping": False,
        "random_state": 0,
        **params,
    }
    return HistGradientBoostingClassifier(**settings).fit(x, np.asarray(labels))


def save_model(name: str, data: dict[str, Any]) -> Path:
    MODELS_DIR.mkdir(exist_ok=True)
    path = MODELS_DIR / name
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    load_model.cache_clear()
    return path
