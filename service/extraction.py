"""``bijia eval-extraction``: the product-page reader scored on the public product extraction benchmark
(``../shared/pages/product-extraction-benchmark``: 140 real product pages with hand-made ground truth),
beside the outputs of the three systems that ship with it (``dataset/output/*.json``).

Scored as the benchmark's README and evaluation define it: per page at most one predicted value per
attribute; a prediction equal to one of the page's true values is a true positive; a wrong one is a
false positive and, when the page has a true value, also a false negative; a missing one is a false
negative when the page has a true value. Price is compared as a Decimal (currency not scored);
availability is ``InStock`` unless ``OutOfStock`` is predicted. Precision is TP/(TP+FP), recall
TP/(TP+FN), both 1 when a system has neither FP nor FN.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from crawler.config import Marketplace
from service.errors import UserError
from spiders.pages.product_page import Summary, read_product_page

ATTRIBUTES = ("price", "sku", "availability", "InStock", "OutOfStock")
SYSTEM = "bijia"
Prediction = dict[str, str]


@dataclass
class Score:
    attribute: str
    system: str
    f1: float
    precision: float
    recall: float
    support: int
    tp: int
    fp: int
    fn: int


@dataclass
class Evaluation:
    scores: list[Score]
    pages: int
    seconds: float
    errors_file: Path

    def rows(self) -> list[dict[str, Any]]:
        return [asdict(s) for s in self.scores]


def benchmark_root() -> Path:
    """``$BIJIA_SHARED/pages/product-extraction-benchmark``, else ``<repo>/../shared/pages/…``."""
    env = os.environ.get("BIJIA_SHARED")
    shared = Path(env) if env else Path(__file__).resolve().parents[2] / "shared"
    return shared / "pages" / "product-extraction-benchmark"


def eval_extraction(benchmark: Path | None = None, errors: Path | None = None) -> Evaluation:
    """Score bijia's product-page reader and the bundled systems on the benchmark; bijia's per-page
    errors go to ``errors`` (TSV; by default in the temporary directory)."""
    root = benchmark or benchmark_root()
    truth_file = root / "dataset" / "ground-truth.json"
    if not truth_file.exists():
        raise UserError(
            f"the product extraction benchmark is not there: {truth_file} is missing (set BIJIA_SHARED)"
        )
    truth: dict[str, dict[str, Any]] = json.loads(truth_file.read_text(encoding="utf-8"))
    started = time.perf_counter()
    ours = {key: predict(_page(root, key), page["url"]) for key, page in truth.items()}
    seconds = time.perf_counter() - started
    systems = {SYSTEM: ours} | {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((root / "dataset" / "output").glob("*.json"))
    }
    scores = [
        score(truth, predictions, attribute, name)
        for attribute in ATTRIBUTES
        for name, predictions in systems.items()
    ]
    errors = errors or Path(tempfile.gettempdir()) / "bijia-eval-extraction-errors.tsv"
    write_errors(errors, truth, ours)
    return Evaluation(scores, len(truth), round(seconds, 2), errors)


def _page(root: Path, key: str) -> bytes:
    path = root / "dataset" / "html" / f"{key}.html.gz"
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise UserError(f"{path}: cannot read the page ({exc})") from None


def predict(body: bytes, url: str) -> Prediction:
    """The benchmark's attributes from what ``read_product_page`` makes of one page."""
    market = Marketplace(name="benchmark", shape="jsonld", base_url=url)
    return as_prediction(read_product_page(body, url, market).summary)


def as_prediction(summary: Summary) -> Prediction:
    stock = "OutOfStock" if summary.in_stock is False else "InStock"
    out = {"availability": stock, stock: stock}
    if summary.price is not None:
        out["price"] = str(summary.price)
    if summary.sku:
        out["sku"] = summary.sku
    return out


def score(
    truth: dict[str, dict[str, Any]], predictions: dict[str, Any], attribute: str, system: str
) -> Score:
    if predictions.keys() != truth.keys():
        raise UserError(f"{system}: its predictions are not for the benchmark's pages")
    tp = fp = fn = support = 0
    for key, page in truth.items():
        true = set(page.get(attribute) or [])
        support += bool(true)
        a, b, c = outcome(true, predictions[key].get(attribute), _as_decimal if attribute == "price" else str)
        tp, fp, fn = tp + a, fp + b, fn + c
    precision = 1.0 if fp == fn == 0 else tp / (tp + fp) if tp + fp else 0.0
    recall = 1.0 if fp == fn == 0 else tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(attribute, system, round(f1, 3), round(precision, 3), round(recall, 3), support, tp, fp, fn)


def outcome(true: set[str], predicted: Any, value: Callable[[Any], Any]) -> tuple[int, int, int]:
    """(TP, FP, FN) of one page: a wrong value is both a false positive and (if there is a truth) a miss."""
    if predicted is None:
        return 0, 0, int(bool(true))
    if value(predicted) in {value(t) for t in true}:
        return 1, 0, 0
    return 0, 1, int(bool(true))


def _as_decimal(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text).strip())
    except InvalidOperation:
        return None


def write_errors(path: Path, truth: dict[str, dict[str, Any]], ours: dict[str, Prediction]) -> None:
    """One TSV row per page and attribute bijia got wrong or missed: page id, URL, attribute, the
    true values, the prediction."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, delimiter="\t", lineterminator="\n")
            writer.writerow(["page", "url", "attribute", "truth", "predicted"])
            for key, page in truth.items():
                for attribute in ("price", "sku", "availability"):
                    true = set(page.get(attribute) or [])
                    value = _as_decimal if attribute == "price" else str
                    if outcome(true, ours[key].get(attribute), value)[0] == 0 and (
                        true or attribute in ours[key]
                    ):
                        writer.writerow(
                            [
                                key,
                                page["url"],
                                attribute,
                                " | ".join(sorted(true)),
                                ours[key].get(attribute, ""),
                            ]
                        )
    except OSError as exc:
        raise UserError(f"cannot write the errors file {path}: {exc.strerror or exc}") from None
