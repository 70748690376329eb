"""``bijia eval-extraction``: scored the way the product extraction benchmark defines it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from service.extraction import benchmark_root, eval_extraction, outcome

PAGE = """<html lang="en-GB"><head><title>Kettle</title></head><body><h1>Kettle</h1>
<p class="price">£{price}</p><p>{stock}</p><table><tr><th>SKU</th><td>{sku}</td></tr></table></body></html>"""


def bench(tmp_path: Path) -> Path:
    """Three pages: one read right, one whose price the truth does not have, one without a price."""
    root = tmp_path / "bench"
    (root / "dataset" / "html").mkdir(parents=True)
    (root / "dataset" / "output").mkdir()
    pages = {
        "a": ("12.50", "In stock", "K-1", {"price": ["12.5"], "sku": ["K-1"], "availability": ["InStock"]}),
        "b": ("9.99", "Sold out", "K-2", {"price": ["8.99"], "sku": ["X-9"], "availability": ["OutOfStock"]}),
        "c": ("", "In stock", "K-3", {"sku": ["K-3"], "availability": ["InStock"]}),
    }
    truth = {}
    for key, (price, stock, sku, true) in pages.items():
        html = PAGE.format(price=price, stock=stock, sku=sku)
        (root / "dataset" / "html" / f"{key}.html.gz").write_bytes(gzip.compress(html.encode()))
        truth[key] = {**true, "url": f"https://shop.example/{key}"}
    (root / "dataset" / "ground-truth.json").write_text(json.dumps(truth))
    other = {"a": {"price": "12.50", "availability": "InStock"}, "b": {}, "c": {"price": "1"}}
    (root / "dataset" / "output" / "Other.json").write_text(json.dumps(other))
    return root


def test_outcomes_follow_the_benchmark() -> None:
    assert outcome({"1"}, "1", str) == (1, 0, 0)
    assert outcome({"1"}, "2", str) == (0, 1, 1)  # a wrong value: a false positive and a miss
    assert outcome(set(), "2", str) == (0, 1, 0)  # a value where the page has none
    assert outcome({"1"}, None, str) == (0, 0, 1)
    assert outcome(set(), None, str) == (0, 0, 0)


def test_scores_beside_the_bundled_systems_and_errors_to_a_file(tmp_path: Path) -> None:
    errors = tmp_path / "errors.tsv"
    result = eval_extraction(bench(tmp_path), errors)
    by = {(s.attribute, s.system): s for s in result.scores}
    price = by["price", "bijia"]
    assert (price.tp, price.fp, price.fn, price.support) == (1, 1, 1, 2)
    assert (price.precision, price.recall) == (0.5, 0.5)
    assert (by["sku", "bijia"].tp, by["sku", "bijia"].fp) == (2, 1)
    assert by["availability", "bijia"].tp == 3
    other = by["price", "Other"]
    assert (other.tp, other.fp, other.fn) == (1, 1, 1)
    other_stock = by["availability", "Other"]
    assert (other_stock.tp, other_stock.fn) == (1, 2)  # the outputs are scored as shipped: no value, a miss
    rows = errors.read_text().splitlines()
    assert rows[0].split("\t") == ["page", "url", "attribute", "truth", "predicted"]
    assert {tuple(r.split("\t")[2:]) for r in rows[1:]} == {("price", "8.99", "9.99"), ("sku", "X-9", "K-2")}


def test_the_command_prints_the_table_and_where_the_errors_are(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval-extraction", "--benchmark", str(bench(tmp_path)), "--errors", str(tmp_path / "e.tsv")]
    )
    assert result.exit_code == 0, result.output
    assert "bijia" in result.output and "Other" in result.output and str(tmp_path / "e.tsv") in result.output


def test_a_missing_benchmark_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval-extraction", "--benchmark", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "benchmark is not there" in result.output and "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.skipif(
    not (benchmark_root() / "dataset").exists(), reason=f"the benchmark is not available: {benchmark_root()}"
)
def test_the_real_benchmark_beats_the_open_baseline(tmp_path: Path) -> None:
    by = {(s.attribute, s.system): s for s in eval_extraction(errors=tmp_path / "e.tsv").scores}
    for attribute in ("price", "sku", "availability"):
        assert by[attribute, "bijia"].f1 > by[attribute, "extruct"].f1 + 0.15, attribute
    assert by["price", "bijia"].precision >= 0.9
