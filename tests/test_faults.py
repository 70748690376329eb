"""Fault tests: `bijia crawl` (a subprocess) against the demo marketplaces with faults switched on.

Each test ends with a clear per-shop status in `bijia runs --format json`, the right exit code (0 all
well, 3 partial, 4 nothing published), the healthy shops' data published, and — checked against the
catalogue's truth — every listing stored exactly once with the right landed price: nothing lost, nothing
twice. The browser shop is left out except in the test about it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.catalogue import generate_catalogue
from demo.faults import Faults
from demo.server import DemoServer
from tests.test_faults_harness import PLAIN_SHOPS, assert_exact, crawl, stored, truth

pytestmark = pytest.mark.slow
SMALL = generate_catalogue(24, 3)


def _all_ok(result, shops=PLAIN_SHOPS) -> None:
    assert result.code == 0, result.stderr
    assert result.run["status"] == "finished"
    assert {shop: result.status(shop) for shop in shops} == dict.fromkeys(shops, "ok")


def _offers_match_store(result, got, shops=PLAIN_SHOPS) -> None:
    """The run's per-shop offer count is what was stored (duplicates and drops not counted)."""
    for shop in shops:
        assert result.market(shop)["offers"] == len(got.offers[shop]), shop


def test_429_with_retry_after_is_waited_out(tmp_path: Path):
    with DemoServer(SMALL, faults=Faults(status_429_every=4, retry_after=1)) as server:
        result = crawl(server.base_url, tmp_path / "b.duckdb")
        assert sum(n for k, n in server.injected.items() if k.endswith(":429")) >= 5
    _all_ok(result)
    _offers_match_store(result, assert_exact(tmp_path / "b.duckdb", truth(server), PLAIN_SHOPS))


def test_5xx_bursts_are_retried_and_a_shop_that_only_errs_fails_alone(tmp_path: Path):
    plan = {
        "techmall": Faults(status_5xx_rate=0.1, seed=1),
        "shandian": Faults(status_5xx_rate=0.1, seed=1),
        "woomart": Faults(status_5xx_rate=1.0),
    }
    with DemoServer(SMALL, faults=plan) as server:
        result = crawl(server.base_url, tmp_path / "b.duckdb")
        assert server.injected.get("techmall:5xx", 0) >= 1
    assert result.code == 3, result.stderr
    assert result.run["status"] == "partial"
    assert result.status("woomart") == "failed"
    assert (
        "no offers" in result.market("woomart")["reason"] and "HTTP 50" in result.market("woomart")["reason"]
    )
    assert "woomart" in result.stderr and "failed" in result.stderr  # said on stderr too
    assert "Traceback" not in result.stderr  # one line per error for cron's mail; stacks only with -v
    healthy = ("techmall", "shopline", "shandian")
    assert {s: result.status(s) for s in healthy} == dict.fromkeys(healthy, "ok")
    got = assert_exact(tmp_path / "b.duckdb", truth(server), healthy)
    assert "woomart" not in got.offers


def test_a_shop_that_times_out_fails_and_the_others_are_published(tmp_path: Path):
    plan = {"shopline": Faults(slow_ms=2500), "techmall": Faults(slow_ms=100)}
    with DemoServer(SMALL, faults=plan) as server:
        result = crawl(server.base_url, tmp_path / "b.duckdb", BIJIA_DOWNLOAD_TIMEOUT="1")
    assert result.code == 3, result.stderr
    assert result.status("shopline") == "failed"
    assert "TimeoutError" in result.market("shopline")["reason"]
    assert "Traceback" not in result.stderr
    healthy = ("techmall", "woomart", "shandian")
    assert {s: result.status(s) for s in healthy} == dict.fromkeys(healthy, "ok")
    assert "shopline" not in assert_exact(tmp_path / "b.duckdb", truth(server), healthy).offers


@pytest.mark.parametrize(
    "faults, kind",
    [(Faults(reset_rate=0.1, seed=2), "reset"), (Faults(truncate_rate=0.1, seed=3), "truncate")],
    ids=["connection resets", "truncated pages"],
)
def test_broken_responses_are_retried_not_parsed(tmp_path: Path, faults: Faults, kind: str):
    with DemoServer(generate_catalogue(60, 3), faults=faults) as server:
        result = crawl(server.base_url, tmp_path / "b.duckdb")
        assert sum(n for k, n in server.injected.items() if k.endswith(f":{kind}")) >= 3
    _all_ok(result)
    assert_exact(tmp_path / "b.duckdb", truth(server), PLAIN_SHOPS)


def test_changed_layout_fails_that_shop_and_keeps_its_previous_offers(tmp_path: Path):
    db = tmp_path / "b.duckdb"
    with DemoServer(SMALL) as server:
        first = crawl(server.base_url, db)
        expected = truth(server)
    _all_ok(first)
    before = stored(db)
    with DemoServer(SMALL, faults={"techmall": Faults(changed_markup=True)}) as server:
        result = crawl(server.base_url, db)
    assert result.code == 3, result.stderr
    assert result.status("techmall") == "failed" and "no offers" in result.market("techmall")["reason"]
    others = ("shopline", "woomart", "shandian")
    assert {s: result.status(s) for s in others} == dict.fromkeys(others, "ok")
    after = assert_exact(db, expected, PLAIN_SHOPS)  # techmall: still the first run's offers
    assert after.offers["techmall"] == before.offers["techmall"]
    runs_of = {(m, li): r for (m, li, r) in after.prices}
    assert {r for (m, _), r in runs_of.items() if m == "techmall"} == {first.run["run_id"]}
    assert len(after.prices) == before.offer_rows + sum(len(after.offers[s]) for s in others)


def test_absurd_prices_are_dropped_with_reasons(tmp_path: Path):
    with DemoServer(generate_catalogue(130, 3), faults=Faults(absurd_prices=True)) as server:
        result = crawl(server.base_url, tmp_path / "b.duckdb")
        expected = truth(server)  # the truth leaves the broken listings out
    _all_ok(result)
    got = assert_exact(tmp_path / "b.duckdb", expected, PLAIN_SHOPS)
    _offers_match_store(result, got)
    reasons: dict[str, int] = {}
    for shop in PLAIN_SHOPS:
        for reason, n in result.market(shop)["dropped_reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    assert reasons.get("price_not_positive", 0) >= 4 and reasons.get("price_absurd", 0) >= 1, reasons
    assert set(reasons) <= {"price_not_positive", "price_absurd", "no_price"}, reasons  # woo: minor units < 0


def test_duplicate_listings_are_stored_once(tmp_path: Path):
    with DemoServer(generate_catalogue(300, 3), faults=Faults(duplicate_listings=True)) as server:
        result = crawl(server.base_url, tmp_path / "b.duckdb")
    _all_ok(result)
    got = assert_exact(tmp_path / "b.duckdb", truth(server), PLAIN_SHOPS)
    _offers_match_store(result, got)
    assert sum(result.market(s)["dropped_reasons"].get("duplicate", 0) for s in PLAIN_SHOPS) >= 4


def test_a_shop_that_loops_its_pagination_ends(tmp_path: Path):
    with DemoServer(SMALL, faults=Faults(pagination_loop=True)) as server:
        result = crawl(server.base_url, tmp_path / "b.duckdb", timeout=90)
        requests = server.requests
    _all_ok(result)
    assert_exact(tmp_path / "b.duckdb", truth(server), PLAIN_SHOPS)
    assert requests["shopline"] <= 3 and requests["techmall"] <= 30, requests


def test_total_failure_publishes_nothing_and_keeps_the_previous_run(tmp_path: Path):
    db = tmp_path / "b.duckdb"
    with DemoServer(SMALL) as server:
        _all_ok(crawl(server.base_url, db))
        expected = truth(server)
    before = stored(db)
    with DemoServer(SMALL, faults=Faults(status_5xx_rate=1.0)) as server:
        result = crawl(server.base_url, db)
    assert result.code == 4, result.stderr
    assert result.run["status"] == "failed"
    assert {s: result.status(s) for s in PLAIN_SHOPS} == dict.fromkeys(PLAIN_SHOPS, "failed")
    after = assert_exact(db, expected, PLAIN_SHOPS)
    assert after.offers == before.offers and after.prices == before.prices


BROWSER_TOML = """
[[marketplace]]
name = "techmall"
shape = "jsonld"
base_url = "${BIJIA_DEMO_URL}/techmall/"
start_urls = ["${BIJIA_DEMO_URL}/techmall/category/all"]

[[marketplace]]
name = "jingxuan"
shape = "browser"
base_url = "${BIJIA_DEMO_URL}/jingxuan/"
browser = { wait_timeout_ms = 3000 }
"""


@pytest.mark.browser
def test_browser_shop_with_changed_markup_fails_alone(tmp_path: Path):
    config = tmp_path / "m.toml"
    config.write_text(BROWSER_TOML)
    with DemoServer(SMALL, faults={"jingxuan": Faults(changed_markup=True)}) as server:
        result = crawl(
            server.base_url,
            tmp_path / "b.duckdb",
            ("techmall", "jingxuan"),
            extra_args=("--config", str(config)),
        )
    assert result.code == 3, result.stderr
    assert result.status("jingxuan") == "failed" and result.status("techmall") == "ok"
    got = assert_exact(tmp_path / "b.duckdb", truth(server), ("techmall",))
    assert "jingxuan" not in got.offers
