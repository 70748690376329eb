"""Stage 4 — score candidate pairs, a batch at a time.

The batch entry point is :func:`score_batch`: prepared records, two arrays of record indices (the pairs),
the run's vocabulary and configuration → a match probability per pair and the pairs a hard rule vetoes.
Features come from :mod:`matching.features` (numpy + rapidfuzz over the whole batch), probabilities from
the configuration's pair model (:mod:`matching.model`). Vetoed pairs score 0; pairs with equal valid GTINs
score 1 (``gtin_decides``) unless vetoed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import MatchConfig
from .features import FEATURES, hard_vetoes, pair_features
from .model import ModelError, PairModel, load_model
from .prepare import Prepared, Vocabulary
from .record_table import table_for

if TYPE_CHECKING:
    import numpy as np

Pairs = Sequence[tuple[int, int]]


@dataclass
class PairScores:
    """One batch's scores: ``probs`` (0 where vetoed), ``vetoed`` (a hard rule fired) and the features."""

    left: np.ndarray
    right: np.ndarray
    probs: np.ndarray
    vetoed: np.ndarray
    features: np.ndarray


def model_of(config: MatchConfig) -> PairModel:
    model = load_model(config.model)
    if model.features != list(FEATURES):
        raise ModelError(
            f"matcher model {config.model!r} was fitted on other features; re-fit it (bijia model fit)"
        )
    return model


def score_batch(
    prepared: Sequence[Prepared],
    left: np.ndarray | Sequence[int],
    right: np.ndarray | Sequence[int],
    vocab: Vocabulary,
    config: MatchConfig,
) -> PairScores:
    """Match probabilities for the pairs ``(left[k], right[k])`` of indices into ``prepared``."""
    import numpy as np

    model = model_of(config)
    left_ix, right_ix = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    x = pair_features(table_for(prepared, vocab, model.words), left_ix, right_ix, config.workers)
    probs = model.probabilities(x)
    if config.gtin_decides:
        probs = np.where(x[:, FEATURES.index("gtin_eq")] == 1, 1.0, probs)
    vetoed = hard_vetoes(x, config.vetoes, config.gtin_decides)
    return PairScores(left_ix, right_ix, np.where(vetoed, 0.0, probs), vetoed, x)


def split_pairs(pairs: Pairs | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[(i, j), …]`` (or an (n, 2) array) → the arrays of left and right indices."""
    import numpy as np

    arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def method_of(a: Prepared, b: Prepared) -> str:
    """Which signal made the match: ``gtin``, ``model`` (a shared model code or MPN) or ``title``."""
    if a.gtin and a.gtin == b.gtin:
        return "gtin"
    if (a.codes & b.codes) or (a.mpn and a.mpn == b.mpn):
        return "model"
    return "title"
