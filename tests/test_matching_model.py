"""The pair model (matching.model), its batch features (matching.features) and the fixes of issue 11:
the shop's model number reaches the features, attribute misreads no longer veto, explain is truthful."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matching import MatchConfig, OfferRecord, explain
from matching.attributes import model_codes, variant_attributes
from matching.features import FEATURES, pair_features, veto_reasons
from matching.model import PairModel, TreeModel, load_model
from matching.prepare import Vocabulary, prepare_all
from matching.record_table import RecordTable
from matching.scoring import score_batch

# One stump on feature 0: <= 0.5 → -2 (left), else +2; nan goes right. A second tree splits nan apart
# from every number (scikit-learn writes such a split with an infinite threshold).
STUMP = {
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
        },
        {
            "feature": [1, -1, -1],
            "threshold": [math.inf, 0, 0],
            "missing_left": [0, 0, 0],
            "left": [1, 0, 0],
            "right": [2, 0, 0],
            "value": [0.0, 0.0, 1.0],
        },
    ],
}


def test_tree_model_routes_values_and_nan() -> None:
    raw = TreeModel(STUMP, 2).raw(np.array([[0.2, 5.0], [0.9, 1e300], [math.nan, math.nan]]))
    assert raw.tolist() == [-2.0, 2.0, 3.0]


def test_exported_trees_predict_like_scikit_learn() -> None:
    pytest.importorskip("sklearn", reason="scikit-learn fits the trees")
    from matching.tuning.fit import export_trees, fit_trees

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4))
    x[rng.random((600, 4)) < 0.2] = np.nan
    x[:, 3] = np.where(rng.random(600) < 0.5, np.nan, 1.0)  # a 'nan or not' signal
    y = ((np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 1]) > 0) | np.isnan(x[:, 3])).astype(int)
    clf = fit_trees(x, y, np.ones(len(y)), {"max_iter": 30})
    ours = TreeModel(export_trees(clf), 4).raw(x)
    theirs = clf.decision_function(x)
    assert np.abs(ours - theirs).max() < 1e-4


def test_contributions_add_up_to_the_log_odds() -> None:
    model = load_model()
    row = np.full(len(FEATURES), np.nan)
    row[FEATURES.index("tset")] = 0.95
    start, credit_of = model.trees.contributions(row.tolist())
    assert start + sum(credit_of.values()) == pytest.approx(float(model.trees.raw(row[None, :])[0]), abs=1e-6)


def _records() -> list[OfferRecord]:
    return [
        OfferRecord(key="a/1", marketplace="a", title="Canon PIXMA TS5150 printer black", price=179.0),
        OfferRecord(key="b/1", marketplace="b", title="CANON Pixma TS 5150 (black)", price=175.0),
        OfferRecord(key="b/2", marketplace="b", title="Canon PIXMA TS5150s printer black", price=199.0),
        OfferRecord(key="c/1", marketplace="c", title="Laser printer, black", mpn="HL-L2350DW"),
        OfferRecord(key="d/1", marketplace="d", title="Brother compact mono printer", mpn="hl l2350dw"),
        OfferRecord(key="e/1", marketplace="e", title="Apple iPhone 15 Pro 128GB"),
        OfferRecord(key="f/1", marketplace="f", title="Apple iPhone 15 Pro 256GB"),
    ]


def _features(pairs: list[tuple[int, int]]) -> list[dict[str, float]]:
    prepared = prepare_all(_records())
    table = RecordTable(prepared, Vocabulary(p.tokens for p in prepared), None)
    left, right = np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])
    return [dict(zip(FEATURES, row, strict=True)) for row in pair_features(table, left, right).tolist()]


def test_features_find_a_code_written_apart_and_a_suffix() -> None:
    apart, suffix = _features([(0, 1), (0, 2)])
    assert apart["code_found"] == 1.0 and math.isnan(apart["code_conflict"])  # TS5150 = TS 5150
    assert suffix["code_digits_same"] == 1.0 and suffix["code_sim"] < 1.0  # TS5150 vs TS5150s
    assert apart["price_log"] == pytest.approx(abs(math.log(179 / 175)))
    assert math.isnan(apart["mpn_eq"]) and math.isnan(apart["gtin_eq"])  # absent, not 'different'


def test_the_shops_model_number_reaches_the_features() -> None:
    """OfferRecord.mpn used to reach only the title codes; two offers stating one MPN now say so."""
    same_mpn, storage = _features([(3, 4), (5, 6)])
    assert same_mpn["mpn_eq"] == 1.0 and same_mpn["mpn_sim"] == 1.0
    assert storage["attr:storage"] == 1.0 and storage["attr_conflict"] == 1.0


def test_scores_and_vetoes_in_one_batch() -> None:
    prepared = prepare_all(_records())
    vocab = Vocabulary(p.tokens for p in prepared)
    config = MatchConfig(vetoes=["storage"])
    scores = score_batch(prepared, np.array([0, 5]), np.array([1, 6]), vocab, config)
    assert scores.vetoed.tolist() == [False, True] and scores.probs[1] == 0.0
    assert scores.probs[0] > 0.5
    assert veto_reasons(prepared[5], prepared[6], config.vetoes, config.gtin_decides) == [
        "storage: 128 ≠ 256"
    ]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Avery labels 2/3 x 3-7/16 inch 450 pack", {"pack": "450"}),  # was pack 3 (from 'x 3')
        ("Poster 12 x 18 inch", {}),  # a size, not a pack of 18
        ("Bosch 7274t router", {}),  # was 7274 TB of storage
        ("Coca-Cola 330ml x 24", {"volume": "330", "pack": "24"}),
        ("农夫山泉 550ml×24瓶", {"volume": "550", "pack": "24"}),
        ("Seagate 2T disk", {"storage": "2048"}),
    ],
)
def test_attribute_misreads_that_vetoed_matches(title: str, expected: dict[str, str]) -> None:
    assert variant_attributes(title) == expected


def test_joined_specifications_are_not_a_model_code() -> None:
    assert model_codes("Apple MacBook Pro 14 M4 8G/512G") == frozenset()
    assert model_codes("Sony WH-1000XM5 and Corsair CC-9011183-WW") == {"wh1000xm5", "cc9011183ww"}


def test_explain_credits_the_features_that_decided() -> None:
    a = OfferRecord(key="a/1", marketplace="a", title="Sony WH-1000XM5 Wireless Headphones Black")
    b = OfferRecord(key="b/1", marketplace="b", title="SONY WH1000XM5 Noise Cancelling Black")
    e = explain(a, b)
    model = load_model()
    log_odds = e.start + sum(e.contributions.values())
    assert 1 / (1 + math.exp(-log_odds)) == pytest.approx(e.probability, abs=2e-4)
    assert list(e.contributions) == sorted(e.contributions, key=lambda n: -abs(e.contributions[n]))
    assert e.model_version == model.version and "what decided" in str(e) and "nan" not in str(e)


def test_a_model_in_memory_is_scored_like_a_file() -> None:
    from matching.model import register_model

    shipped = load_model()
    name = register_model(PairModel.from_dict(shipped.data), "copy-of-default")
    prepared = prepare_all(_records())
    vocab = Vocabulary(p.tokens for p in prepared)
    left, right = np.array([0, 3]), np.array([1, 4])
    ours = score_batch(prepared, left, right, vocab, MatchConfig.for_model(name)).probs
    assert np.array_equal(ours, score_batch(prepared, left, right, vocab, MatchConfig()).probs)
