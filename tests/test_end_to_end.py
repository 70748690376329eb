"""End to end: `bijia demo` crawls the five demo marketplaces (the JavaScript one through a real headless
Chromium), matches, and its comparison agrees with the generator's truth."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from demo.catalogue import generate_catalogue
from service.truth import score_against_truth

pytestmark = [pytest.mark.browser, pytest.mark.slow]
BIJIA = [sys.executable, "-c", "from cli import app; app()"]


def test_demo_end_to_end_against_truth(tmp_path: Path):
    db = tmp_path / "demo.duckdb"
    size, seed = 80, 11
    result = subprocess.run(
        [
            *BIJIA,
            "demo",
            "--db",
            str(db),
            "--size",
            str(size),
            "--seed",
            str(seed),
            "--format",
            "json",
            "--limit",
            "1000",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[1],
    )
    assert result.returncode == 0, result.stderr
    for shop in ("techmall", "shopline", "woomart", "jingxuan", "shandian"):
        assert f"{shop}" in result.stderr and "failed" not in result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) >= 50 and all(len(r["marketplaces"]) >= 2 for r in rows)
    assert any(set(r["marketplaces"]) >= {"jingxuan", "techmall", "shandian"} for r in rows)

    report = score_against_truth(db, generate_catalogue(size, seed))
    # the crawl itself is exact: every listing, its landed price and stock
    assert report.listings_stored == report.listings_expected
    assert report.landed_right == report.listings_expected
    # the comparison (crawl + matching) shows the true lowest price for nearly every SKU
    assert report.lowest_agree >= 0.93 * report.skus, report.summary()
    assert report.pair_precision >= 0.97 and report.pair_recall >= 0.95, report.summary()
