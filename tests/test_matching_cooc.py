"""The learned word co-occurrence feature (``cooc`` in matching.features) and its fitting (matching.learn)."""

from __future__ import annotations

import math

import pytest

from matching import OfferRecord
from matching.features import EXTRA_FEATURES, Cooc, cooc_terms, extra_rows
from matching.prepare import Vocabulary, prepare_all


def _prepared():
    return prepare_all(
        [
            OfferRecord(key="a/1", marketplace="a", title="Samsung T7 Touch 1TB"),
            OfferRecord(key="b/1", marketplace="b", title="Samsung MU-PC1T0S portable SSD"),
            OfferRecord(key="b/2", marketplace="b", title="Samsung T5 500GB"),
        ]
    )


def test_cooc_terms_are_unordered_cross_shared_and_one_sided() -> None:
    a, b, _ = _prepared()
    terms = cooc_terms(a, b)
    assert terms == cooc_terms(b, a)
    assert "=samsung" in terms and "~touch" in terms and "~samsung" not in terms
    assert "portable|touch" in terms and "samsung|touch" in terms  # a word of one title with one of the other
    assert any(t.startswith("~#") for t in terms)  # model codes take part as #code


def test_cooc_feature_is_the_pair_log_odds_or_nan() -> None:
    prepared = _prepared()
    vocab = Vocabulary(p.tokens for p in prepared)
    col = EXTRA_FEATURES.index("cooc")
    weights = Cooc({"=samsung": 0.5, "~touch": -0.25}, bias=-1.0)
    with_weights = extra_rows(prepared, [(0, 1), (0, 2)], vocab, cooc=weights)
    assert with_weights[0][col] == pytest.approx(-1.0 + 0.5 - 0.25)
    assert all(math.isnan(r[col]) for r in extra_rows(prepared, [(0, 1)], vocab, model="no-such-model.json"))


def test_fit_cooc_learns_which_words_go_together() -> None:
    pytest.importorskip("sklearn", reason="scikit-learn fits the weights (only for tuning)")
    from matching.learn import fit_cooc

    titles = ["acme x1 drill", "acme drill x1 cordless", "acme x2 saw", "acme saw x2 blade", "acme x3 drill"]
    prepared = prepare_all(
        [OfferRecord(key=f"m/{k}", marketplace="m", title=t) for k, t in enumerate(titles)]
    )
    pairs = [(0, 1), (2, 3), (0, 2), (1, 3), (0, 4), (1, 4)] * 3
    labels = [1, 1, 0, 0, 0, 0] * 3
    cooc = fit_cooc(prepared, pairs, labels, min_count=1, prune=0.0)
    assert cooc.score(cooc_terms(prepared[0], prepared[1])) > cooc.score(cooc_terms(prepared[0], prepared[4]))
