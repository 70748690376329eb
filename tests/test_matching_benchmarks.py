"""The shipped default model: regression floors on the shared sets' *valid* splits (test splits are only for
the reported figures), the demo truth on seeds it was not fitted on, and the shipped file being exactly
what its re-fit command produces. Skipped with a reason when the shared data is absent."""

from __future__ import annotations

from collections import Counter

import pytest

from demo.records import listing_records
from matching import MatchConfig, match_offers
from matching.model import dump, load_model, model_path
from matching.tuning.datasets import DatasetMissing, data_root, load
from matching.tuning.evaluate import evaluate
from matching.tuning.restyle import restyled_title

# Floors a little under the valid F1 the shipped default reaches (its meta.valid_f1; docs/matching.md).
FLOORS = {"abt-buy": 0.89, "wdc-products": 0.66, "ali-ember-zh": 0.84}


def _load(dataset: str, split: str):
    try:
        return load(dataset, split)
    except DatasetMissing as exc:
        pytest.skip(f"shared data not found under {data_root()} (set BIJIA_SHARED): {exc}")


@pytest.mark.parametrize("dataset", sorted(FLOORS))
def test_valid_f1_of_the_default_model(dataset: str) -> None:
    report = evaluate(_load(dataset, "valid"))
    assert report.f1 >= FLOORS[dataset], str(report)


def pairwise(groups: list[list[str]], truth: dict[str, str]) -> tuple[float, float]:
    tp = predicted = 0
    for members in groups:
        predicted += len(members) * (len(members) - 1) // 2
        tp += sum(n * (n - 1) // 2 for n in Counter(truth[k] for k in members).values())
    actual = sum(n * (n - 1) // 2 for n in Counter(truth.values()).values())
    return tp / predicted, tp / actual


def test_a_title_style_no_shop_uses_is_grouped() -> None:
    """Seed 304 titled as no demo shop titles (specs first, units spelled out — ``1 Terabyte``, ``16 GB
    Memory``, ``1000 Grams`` —, ``Sz 44``, shop service words): recall was 0.83 while those were misread."""
    records, truth = listing_records(1500, seed=304, title=restyled_title)
    result = match_offers(records, MatchConfig())
    precision, recall = pairwise([g.members for g in result.groups], truth)
    assert precision >= 0.99 and recall >= 0.97, (precision, recall)


@pytest.mark.slow
def test_demo_truth_on_an_unseen_seed() -> None:
    """Seed 7 (2,500 listings): the model was fitted on seeds 101–103 and chosen on 202."""
    records, truth = listing_records(2500, seed=7)
    result = match_offers(records, MatchConfig())
    precision, recall = pairwise([g.members for g in result.groups], truth)
    assert precision >= 0.99 and recall >= 0.97, (precision, recall)


@pytest.mark.slow
def test_the_shipped_model_is_what_its_fit_command_produces() -> None:
    """`bijia model fit --out matching/models/default.json` re-fits it; the same inputs give the same bytes."""
    pytest.importorskip("sklearn", reason="scikit-learn fits the model")
    from matching.tuning.fit import fit_default

    _load("abt-buy", "train")
    model, _ = fit_default()
    shipped = model_path("default").read_text(encoding="utf-8")
    assert dump(model.data) == shipped, (
        "re-fit differs: run `bijia model fit --out matching/models/default.json`"
    )
    assert model.version == load_model().version
