"""The pair model: gradient-boosted trees over ``features.FEATURES``, learned word weights, and the settings
chosen with them (threshold, vetoes), stored as one plain JSON file and evaluated with numpy.

The trees are fitted with scikit-learn (``matching.tuning.fit``, never at run time) and exported node by
node. A node sends a value left when it is ``<= threshold`` and a ``nan`` the way the fitted tree learned,
exactly as scikit-learn's predictor does. The shipped default is ``matching/models/default.json``; a model
re-fitted with a merchandiser's decisions lives in the database and is registered here by its version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MODELS_DIR = Path(__file__).with_name("models")
DEFAULT_MODEL = "default"
_CHUNK = 256
"""Rows walked through the trees at once (keeps a chunk's slots and columns in cache: 256 walks ≈ 30 % faster
than 512 and 3–4× faster than 1,024 on 2 shared cores, same sums)."""


class ModelError(ValueError):
    """A model file that is missing, unreadable, or fitted on other features."""


class TreeModel:
    """Sum of regression trees → log-odds. Nodes of all trees live in flat arrays (``children``, ``feature``
    …, for ``contributions``). ``raw`` walks the trees laid out as complete binary trees of ``depth`` levels
    (:class:`_Complete`), every row of a chunk through every tree at once."""

    def __init__(self, data: dict[str, Any], n_features: int) -> None:
        import numpy as np

        trees = data["trees"]
        self.n_features = n_features
        self.baseline = float(data["baseline"])
        sizes = [len(t["value"]) for t in trees]
        offsets = np.cumsum([0, *sizes])
        self.roots = offsets[:-1].astype(np.int32)
        feature = np.concatenate([np.asarray(t["feature"], dtype=np.int64) for t in trees])
        leaf = feature < 0
        here = np.arange(offsets[-1])
        glob = [
            (np.asarray(t[s]) + o) for t, o in zip(trees, offsets, strict=False) for s in ("left", "right")
        ]
        left = np.where(leaf, here, np.concatenate(glob[0::2]))
        right = np.where(leaf, here, np.concatenate(glob[1::2]))
        self.children = np.stack([left, right], axis=1).ravel().astype(np.int32)
        missing_left = np.concatenate([t["missing_left"] for t in trees]).astype(bool)
        # nan is read as -inf where it goes left and +inf where it goes right (columns n..2n-1)
        self.column = np.where(leaf, 0, np.where(missing_left, feature, feature + n_features)).astype(
            np.int32
        )
        threshold = np.concatenate([t["threshold"] for t in trees]).astype(np.float64)
        threshold = np.where(np.isinf(threshold), np.finfo(np.float64).max, threshold)  # 'nan only' splits
        self.threshold = np.where(leaf, np.inf, threshold)
        self.value = np.concatenate([t["value"] for t in trees]).astype(np.float64)
        self.depth = int(data.get("depth") or max(sizes))
        self.feature = np.where(leaf, -1, feature)
        self.nan_left = missing_left
        depth = _tree_depth(self)
        self._walk: _Complete | _Linked = (
            _Complete(self, depth) if depth <= COMPLETE_DEPTH else _Linked(self, depth)
        )

    def contributions(self, row: Sequence[float]) -> tuple[float, dict[int, float]]:
        """How each feature moved one row's log-odds: along each tree's path, the change of the node value
        goes to the feature the node splits on (Saabas). Returns (the start: baseline + the roots' values,
        {feature index: log-odds}); their sum is ``raw``."""
        start = self.baseline
        out: dict[int, float] = {}
        for root in self.roots.tolist():
            node = root
            start += float(self.value[node])
            while self.feature[node] >= 0:
                f = int(self.feature[node])
                value = row[f]
                left = value <= self.threshold[node] if value == value else bool(self.nan_left[node])
                child = int(self.children[node * 2 + (0 if left else 1)])
                out[f] = out.get(f, 0.0) + float(self.value[child] - self.value[node])
                node = child
        return start, out

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The trees' summed log-odds for each row of ``x`` (columns in feature order)."""
        import numpy as np

        out = np.empty(len(x))
        for start in range(0, len(x), _CHUNK):
            chunk = x[start : start + _CHUNK]
            out[start : start + len(chunk)] = _in_tree_order(self._walk.leaf_values(chunk))
        return self.baseline + out


def _in_tree_order(values: np.ndarray) -> np.ndarray:
    """The sum of each column of ``values`` (trees, rows), added tree after tree. numpy's ``sum(axis=0)`` does
    so for two rows or more; a single row is one contiguous run, which it sums pairwise (another order, other
    last bits): that row is summed by ``cumsum``, so a pair's log-odds do not depend on its batch."""
    import numpy as np

    return values.sum(axis=0) if values.shape[1] > 1 else np.cumsum(values, axis=0)[-1]


COMPLETE_DEPTH = 12
"""Deeper trees are walked through their child arrays (``_Linked``): a complete layout of 2^13 slots per tree
is the most kept in memory."""


def _tree_depth(trees: TreeModel) -> int:
    """The number of splits on the longest path from a root to a leaf."""
    deepest, level = 0, [int(r) for r in trees.roots]
    while any(trees.feature[node] >= 0 for node in level):
        deepest += 1
        level = [
            int(trees.children[2 * node + k]) for node in level if trees.feature[node] >= 0 for k in (0, 1)
        ]
    return deepest


class _Linked:
    """Trees walked through their child arrays: a leaf points at itself and never goes right, so every row
    takes ``depth`` steps without checking where it is."""

    def __init__(self, trees: TreeModel, depth: int) -> None:
        self.trees, self.depth = trees, depth

    def leaf_values(self, chunk: np.ndarray) -> np.ndarray:
        """The value of the leaf each row of ``chunk`` reaches in each tree, as (trees, rows)."""
        import numpy as np

        t = self.trees
        gone = np.isnan(chunk)
        both = np.concatenate([np.where(gone, -np.inf, chunk), np.where(gone, np.inf, chunk)], axis=1)
        flat = both.ravel()
        row = (np.arange(len(chunk), dtype=np.int64) * both.shape[1])[None, :]
        node = np.repeat(t.roots[:, None], len(chunk), axis=1)
        for _ in range(self.depth):
            go_right = flat[row + t.column[node]] > t.threshold[node]
            node = t.children[node * 2 + go_right]
        return t.value[node]


class _Complete:
    """The trees as complete binary trees: slot ``s`` of a tree splits on ``column[s]`` at ``threshold[s]``, its
    children are slots ``2s + 1`` (≤ threshold) and ``2s + 2``. A leaf above the bottom level continues
    through slots that always go left (threshold +inf) to a bottom slot that holds its ``value``. Every row
    takes ``depth`` steps without checking where it is; the first two levels compare whole columns
    (``_top``), the others gather each row's column and threshold."""

    def __init__(self, trees: TreeModel, depth: int) -> None:
        import numpy as np

        self.depth = depth
        slots = 2 ** (self.depth + 1) - 1
        n = len(trees.roots)
        self.column = np.zeros(n * slots, dtype=np.int64)
        self.threshold = np.full(n * slots, np.inf)
        self.value = np.zeros(n * slots)
        base = np.arange(n, dtype=np.int64) * slots
        for tree, root in enumerate(trees.roots.tolist()):
            self._place(trees, root, int(base[tree]), 0)
        self.start = base[:, None]
        # slot s of a tree at base b: its left child is 2(s - b) + 1 + b (a bottom slot has none: itself)
        at, tree_base = np.arange(n * slots), np.repeat(base, slots)
        self.child = np.where(at - tree_base < 2**self.depth - 1, 2 * at - tree_base + 1, at)

    def _place(self, trees: TreeModel, node: int, base: int, slot: int) -> None:
        bottom = 2**self.depth - 1
        if trees.feature[node] < 0:
            while slot < bottom:
                slot = 2 * slot + 1
            self.value[base + slot] = trees.value[node]
            return
        self.column[base + slot] = trees.column[node]
        self.threshold[base + slot] = trees.threshold[node]
        for k in (0, 1):
            self._place(trees, int(trees.children[2 * node + k]), base, 2 * slot + 1 + k)

    def leaf_values(self, chunk: np.ndarray) -> np.ndarray:
        """The value of the leaf each row of ``chunk`` reaches in each tree, as (trees, rows)."""
        import numpy as np

        rows = len(chunk)
        by_column = chunk.T
        gone = np.isnan(by_column)
        both = np.concatenate([np.where(gone, -np.inf, by_column), np.where(gone, np.inf, by_column)])
        slot = self._top(both)
        flat, offset, row = both.ravel(), self.column * rows, np.arange(rows)
        for _ in range(min(self.depth, 2), self.depth):
            at = offset[slot]  # where the slot's column of ``both`` begins, then the row in it
            at += row
            right = flat[at] > self.threshold[slot]
            slot = self.child[slot]
            slot += right
        return self.value[slot]

    def _top(self, both: np.ndarray) -> np.ndarray:
        """The slot each row reaches after the first two levels (fewer in shallower trees): at the root and
        its two children every row of a tree reads the same column, so whole columns are compared (no
        gather per row) and the child's answer is chosen by the root's."""
        import numpy as np

        if self.depth == 0:
            return np.repeat(self.start, both.shape[1], axis=1)
        right = self._goes_right(both, 0)
        if self.depth == 1:
            return self.start + 1 + right
        below = np.where(right, self._goes_right(both, 2), self._goes_right(both, 1))
        return self.start + 3 + 2 * right + below

    def _goes_right(self, both: np.ndarray, slot: int) -> np.ndarray:
        """Whether each row goes right at slot ``slot`` (0 the root, 1 and 2 its children) of each tree."""
        at = self.start[:, 0] + slot
        return both[self.column[at]] > self.threshold[at][:, None]


@dataclass
class WordWeights:
    """Learned weight of each title word when both titles have it (``shared``) and when only one has it
    (``only``): the pair's ``words`` feature is ``bias`` + the weights of its words (unknown words weigh 0)."""

    bias: float
    shared: dict[str, float]
    only: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"bias": self.bias, "shared": self.shared, "only": self.only}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> WordWeights | None:
        return cls(float(data["bias"]), dict(data["shared"]), dict(data["only"])) if data else None


@dataclass
class PairModel:
    """One fitted matcher: feature names, trees, word weights and the settings chosen with them."""

    data: dict[str, Any]
    version: str
    trees: TreeModel = field(repr=False)
    words: WordWeights | None = field(repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairModel:
        text = dump(data)
        version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        return cls(
            data, version, TreeModel(data, len(data["features"])), WordWeights.from_dict(data["words"])
        )

    @property
    def features(self) -> list[str]:
        return list(self.data["features"])

    @property
    def settings(self) -> dict[str, Any]:
        """``threshold``, ``vetoes`` (variant attributes), ``identity_vetoes`` chosen when fitting."""
        return dict(self.data["settings"])

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.data.get("meta", {}))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        import numpy as np

        if len(x) == 0:
            return np.zeros(0)
        return 1.0 / (1.0 + np.exp(-np.clip(self.trees.raw(x), -50.0, 50.0)))


def dump(data: dict[str, Any]) -> str:
    """The canonical text of a model (what is written, hashed and compared)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


_REGISTERED: dict[str, PairModel] = {}


def register_model(model: PairModel, name: str | None = None) -> str:
    """Make an in-memory model (fitted now, or read from a database) loadable by name; returns the name."""
    name = name or f"local-{model.version}"
    _REGISTERED[name] = model
    return name


def model_path(name: str) -> Path:
    return MODELS_DIR / f"{name.removesuffix('.json')}.json"


@lru_cache(maxsize=8)
def _load_file(path: Path) -> PairModel:
    try:
        return PairModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"matcher model {path} is not readable: {exc}") from None


def load_model(name: str = DEFAULT_MODEL) -> PairModel:
    """A registered model, else ``matching/models/<name>.json`` (cached)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    path = model_path(name)
    if not path.exists():
        raise ModelError(f"matcher model {name!r} not found ({path})")
    return _load_file(path)
