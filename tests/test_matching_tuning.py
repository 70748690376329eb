"""Measuring and fitting the matcher on any labelled set (matching.tuning): a DeepMatcher-format folder
with a column mapping, clear errors, in-memory models, nothing written into the source tree."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from demo.records import listing_records
from matching import MatchConfig
from matching.model import MODELS_DIR
from matching.tuning.datasets import DatasetError, DatasetMissing, load, parse_columns
from matching.tuning.evaluate import evaluate

ROOT = Path(__file__).resolve().parent.parent


def write_deepmatcher(folder: Path, seed: int = 5) -> None:
    """A DeepMatcher-format set from two demo shops, in another set's column names (name, manufacturer,
    modelno, cost): every shared SKU a match, as many random pairs as non-matches, split 3:1:1."""
    records, truth = listing_records(800, seed)
    shops = {"techmall": [], "woomart": []}
    for r in records:
        if r.marketplace in shops:
            shops[r.marketplace].append(r)
    folder.mkdir(parents=True, exist_ok=True)
    for table, shop in (("tableA.csv", "techmall"), ("tableB.csv", "woomart")):
        with open(folder / table, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["id", "name", "manufacturer", "modelno", "cost"])
            for n, r in enumerate(shops[shop]):
                out.writerow([n, r.title, r.brand or "", r.mpn if n % 2 else "", r.price])
    a, b = shops["techmall"], shops["woomart"]
    by_sku = {truth[r.key]: n for n, r in enumerate(b)}
    pairs = [(i, by_sku[truth[r.key]], 1) for i, r in enumerate(a) if truth[r.key] in by_sku]
    rng = random.Random(seed)
    pairs += [
        (i, j, int(truth[a[i].key] == truth[b[j].key])) for i, j, _ in pairs for j in [rng.randrange(len(b))]
    ]
    rng.shuffle(pairs)
    fifth = len(pairs) // 5
    for name, part in (
        ("train", pairs[: 3 * fifth]),
        ("valid", pairs[3 * fifth : 4 * fifth]),
        ("test", pairs[4 * fifth :]),
    ):
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["ltable_id", "rtable_id", "label"])
            out.writerows(part)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sets") / "shops"
    write_deepmatcher(folder)
    return folder


def test_a_deepmatcher_folder_with_a_column_mapping(labelled: Path) -> None:
    ps = load(str(labelled), "test", parse_columns("title=name,brand=manufacturer,mpn=modelno,price=cost"))
    assert ps.pairs and sum(ps.labels) > 10
    records = [ps.records[i] for pair in ps.pairs for i in pair]
    assert any(r.mpn for r in records) and any(r.brand for r in records) and all(r.price for r in records)
    guessed = load(str(labelled), "test")  # name → title, manufacturer → brand, modelno → mpn are guessed
    assert [r.mpn for r in guessed.records] == [r.mpn for r in ps.records]
    assert not any(r.price for r in guessed.records)  # 'cost' is no usual price column
    report = evaluate(ps)  # the shipped default, nothing re-fitted
    assert report.model == "default" and report.f1 > 0.8, report


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("title=nom", "no column 'nom' (title)"),
        ("title", "'title' is not field=column"),
        ("colour=name", "unknown field 'colour'"),
    ],
)
def test_a_bad_mapping_is_one_clear_error(labelled: Path, columns: str, message: str) -> None:
    with pytest.raises(DatasetError) as caught:
        load(str(labelled), "test", parse_columns(columns))
    assert message in str(caught.value)


def test_missing_folder_file_and_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissing, match="no such folder"):
        load(str(tmp_path / "nowhere"), "test")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "tableA.csv").write_text("id,name\n1,x\n")
    with pytest.raises(DatasetMissing, match="tableB.csv not found"):
        load(str(tmp_path / "half"), "test")
    with pytest.raises(DatasetError) as caught:
        load("no-such-set", "test")
    assert "demo" in str(caught.value) and "DeepMatcher" in str(caught.value)


def _tree_state() -> dict[str, float]:
    watched = [*MODELS_DIR.iterdir(), *(ROOT / "matching").glob("*.json")]
    return {str(p): p.stat().st_mtime for p in watched}


@pytest.mark.slow
def test_fitting_on_a_set_scores_in_memory_and_writes_only_out(labelled: Path, tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="scikit-learn fits the trees")
    from service.evaluation import eval_matching

    before = _tree_state()
    default, fitted = eval_matching(str(labelled), "test", "title=name,mpn=modelno", fit=True)
    assert _tree_state() == before  # nothing written into the source tree
    assert default["model"] == "default" and fitted["model"].startswith("fitted-")
    assert fitted["f1"] > 0.8 and fitted["model_version"] != default["model_version"]
    out = tmp_path / "model.json"
    eval_matching(str(labelled), "test", "title=name,mpn=modelno", fit=True, out=out)
    assert out.read_text().startswith('{"baseline"') and _tree_state() == before
    assert MatchConfig().model_version == default["model_version"]


def test_a_third_of_the_decisions_is_held_out_to_choose_on() -> None:
    from matching.tuning.datasets import PairSet

    pytest.importorskip("sklearn", reason="matching.tuning.fit imports scikit-learn")
    from matching.tuning.fit import split_decisions

    records, _ = listing_records(50, 3)
    decisions = PairSet("local", records, [(n, n + 1) for n in range(9)], [n % 2 for n in range(9)])
    fit_on, held_out = split_decisions(decisions)
    assert held_out.pairs == [(2, 3), (5, 6), (8, 9)] and held_out.labels == [0, 1, 0]
    assert len(fit_on.pairs) == 6 and not set(fit_on.pairs) & set(held_out.pairs)
