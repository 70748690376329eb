"""The product-page reader on real saved product pages (``tests/fixtures/real_product_pages``), checked
against the truth read from each page by hand, and ``bijia eval-real-pages``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from service.held_out import eval_real_pages, real_pages_root, same_title

TRUTH = json.loads((real_pages_root() / "truth.json").read_text(encoding="utf-8"))

KNOWN_FAILURES = {
    "amazon-com-kindle": "a 'buy for others' box ($17.01) is taken for the Kindle price ($10.99)",
    "etsy-es-doormat": "the JSON-LD 43.90 EUR wins over the buy box's 53,11 €",
    "monsterpet-flea-tablets": "two pack sizes: the first one's £9.56 wins over 'From only £5.29 - £9.56'",
}
"""Pages the reader gets wrong today, each with what goes wrong (see docs/benchmarks.md). A page that
starts to be read right fails its test until it leaves this list."""


def _page_params() -> list[object]:
    params = []
    for page in TRUTH:
        name = page["file"].removesuffix(".html.gz")
        reason = KNOWN_FAILURES.get(name)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(scope="module")
def checks() -> dict[str, object]:
    return {check.page: check for check in eval_real_pages().checks}


@pytest.mark.parametrize("name", _page_params())
def test_real_page_is_read_as_a_shopper_reads_it(name: str, checks: dict) -> None:
    check = checks[name]
    assert check.right, check.row()  # title, price (or no price where the page shows none), currency
    assert "wrong" not in (check.verdicts["availability"], check.verdicts["sku"]), check.row()


def test_known_failures_name_real_pages() -> None:
    names = {page["file"].removesuffix(".html.gz") for page in TRUTH}
    assert set(KNOWN_FAILURES) <= names


def test_titles_compare_as_a_reader_would() -> None:
    assert same_title("The Whole Truth (A. Shaw Book 1) Kindle Edition", "The Whole Truth (A. Shaw Book 1)")
    assert same_title("  tully  SCONCE", "Tully Sconce")
    assert not same_title("Tully Sconce | Pottery Barn - lighting, sconces, wall lights", "Tully Sconce")
    assert not same_title(None, "Tully Sconce")


def _folder(tmp_path: Path, html: str, truth: dict) -> Path:
    (tmp_path / "p.html.gz").write_bytes(gzip.compress(html.encode()))
    base = {"file": "p.html.gz", "url": "https://shop.example/p", "currency": "GBP", "availability": None}
    (tmp_path / "truth.json").write_text(json.dumps([base | truth]))
    return tmp_path


PAGE = '<html lang="en-GB"><body><h1>Kettle</h1><p class="price">£{price}</p><p>SKU: K-1</p></body></html>'


def test_a_wrong_price_is_wrong_and_an_abstention_where_the_page_shows_none_is_right(tmp_path: Path) -> None:
    wrong = eval_real_pages(
        _folder(tmp_path, PAGE.format(price="12.50"), {"title": "Kettle", "price": "9.99"})
    )
    check = wrong.checks[0]
    assert check.verdicts["price"] == "wrong" and not check.right
    assert check.verdicts["title"] == "right" and check.got["sku"] == "K-1"
    none = _folder(tmp_path, PAGE.format(price=""), {"title": "Kettle", "price": None, "sku": ["K-2"]})
    check = eval_real_pages(none).checks[0]
    assert check.verdicts["price"] == "right" and check.verdicts["currency"] is None
    assert check.verdicts["sku"] == "wrong" and check.right


def test_the_command_prints_pages_and_totals(tmp_path: Path) -> None:
    folder = _folder(tmp_path, PAGE.format(price="12.50"), {"title": "Kettle", "price": "12.50"})
    result = CliRunner().invoke(app, ["eval-real-pages", "--folder", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Totals" in result.output and "12.50 / 12.50" in result.output
    as_json = CliRunner().invoke(app, ["eval-real-pages", "--folder", str(folder), "--format", "json"])
    assert json.loads(as_json.output)[0]["price_verdict"] == "right"
    missing = CliRunner().invoke(app, ["eval-real-pages", "--folder", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "truth.json is missing" in missing.output
    assert "Traceback" not in missing.output
