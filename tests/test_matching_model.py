"""The tree model (matching.model) and its extra features (matching.features)."""

from __future__ import annotations

import math

import pytest

from matching import MatchConfig, OfferRecord
from matching.features import EXTRA_FEATURES, extra_rows
from matching.model import MODELS_DIR, TreeModel, load_model
from matching.prepare import Vocabulary, prepare_all
from matching.scoring import FEATURES, score_pairs

# One stump: feature 0 <= 0.5 → -2 (left), else +2; nan goes right.
STUMP = {
    "features": ["x", "y"],
    "baseline": 0.0,
    "depth": 2,
    "trees": [
        {
            "feature": [0, -1, -1],
            "threshold": [0.5, 0, 0],
            "missing_left": [0, 0, 0],
            "left": [1, 0, 0],
            "right": [2, 0, 0],
            "value": [0.0, -2.0, 2.0],
        }
    ],
}


def test_tree_model_routes_values_and_nan() -> None:
    low, high, missing = TreeModel(STUMP).predict([[0.2, 0.0], [0.9, 0.0], [math.nan, 0.0]])
    assert low == pytest.approx(1 / (1 + math.exp(2)))
    assert high == pytest.approx(1 / (1 + math.exp(-2)))
    assert missing == high


def test_exported_trees_predict_like_scikit_learn() -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("sklearn", reason="scikit-learn fits the trees (only for tuning)")
    from matching.model import export_hgb, fit_hgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4))
    x[rng.random((600, 4)) < 0.2] = np.nan
    y = (np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 1]) > 0).astype(int)
    clf = fit_hgb(x, y, max_iter=30)
    ours = np.array(TreeModel(export_hgb(clf, list("abcd"))).predict(x))
    assert np.abs(ours - clf.predict_proba(x)[:, 1]).max() < 1e-4


def _records() -> list[OfferRecord]:
    return [
        OfferRecord(key="a/1", marketplace="a", title="Canon PIXMA TS5150 printer black", price=179.0),
        OfferRecord(key="b/1", marketplace="b", title="CANON Pixma TS-5150 (black)", price=175.0),
        OfferRecord(key="b/2", marketplace="b", title="Canon PIXMA TS5150s printer black", price=199.0),
        OfferRecord(
            key="b/3", marketplace="b", title="货号 X1", attributes={"货号": "AB-123", "品牌": "李宁"}
        ),
    ]


def test_extra_features_code_suffix_and_missing_signals() -> None:
    prepared = prepare_all(_records())
    vocab = Vocabulary(p.tokens for p in prepared)
    same, suffix, other = (
        dict(zip(EXTRA_FEATURES, r, strict=True))
        for r in extra_rows(prepared, [(0, 1), (0, 2), (0, 3)], vocab)
    )
    assert same["code_sim"] == 1.0 and same["code_digits_same"] == 0.0
    assert suffix["code_prefix"] == 1.0 and suffix["code_digits_same"] == 1.0
    assert math.isnan(same["kv:mpn"]) and math.isnan(other["mpn_sim"])
    assert same["price_log"] == pytest.approx(abs(math.log(179 / 175)))


@pytest.mark.skipif(not (MODELS_DIR / "abt-buy.json").exists(), reason="no committed abt-buy model")
def test_model_profile_scores_pairs() -> None:
    config = MatchConfig.load("abt-buy")
    assert config.model == "abt-buy.json"
    assert load_model(config.model).features == [*FEATURES, *EXTRA_FEATURES]
    prepared = prepare_all(_records())
    probs, vetoes = score_pairs(prepared, [(0, 1), (0, 3)], Vocabulary(p.tokens for p in prepared), config)
    assert probs[0] > probs[1] and all(0.0 <= p <= 1.0 for p in probs)
