"""End to end: `bijia demo` crawls the demo marketplaces (the JavaScript ones through a real headless
Chromium; three of them described only by a field map), matches, and its comparison agrees with the
generator's truth."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from demo.catalogue import SHOPS, generate_catalogue
from demo.listings import FIELD_MAP_SHOPS
from service.truth import score_against_truth
from storage import connect

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
    assert "failed" not in result.stderr
    for shop in SHOPS:
        assert f"{shop}" in result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) >= 50 and all(len(r["marketplaces"]) >= 2 for r in rows)
    assert any(set(r["marketplaces"]) >= {"jingxuan", "techmall", "shandian"} for r in rows)

    catalogue = generate_catalogue(size, seed)
    # each shop exactly: the field-map shops too (Next.js data, XHR capture with infinite scroll and
    # detail pages, cursor API)
    con = connect(db, read_only=True)
    try:
        stored = Counter(dict(con.execute("SELECT marketplace, count(*) FROM offers GROUP BY 1").fetchall()))
    finally:
        con.close()
    expected = Counter(row.marketplace for row in catalogue.truth_rows())
    assert stored == expected
    assert all(expected[shop] > 40 for shop in FIELD_MAP_SHOPS)

    report = score_against_truth(db, catalogue)
    # the crawl itself is exact: every listing, its landed price and stock
    assert report.listings_stored == report.listings_expected
    assert report.landed_right == report.listings_expected
    # the comparison (crawl + matching) shows the true lowest price for nearly every SKU
    assert report.lowest_agree >= 0.93 * report.skus, report.summary()
    assert report.pair_precision >= 0.97 and report.pair_recall >= 0.95, report.summary()
