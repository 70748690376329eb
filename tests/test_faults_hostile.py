"""Hostile shops (``demo.hostile``) crawled by `bijia crawl` beside a healthy one: each hostile page is
refused, capped or reported; the healthy shop and the good pages of the hostile ones are published; the
status in `bijia runs` says what happened; counts are what was stored.

One crawl of every shop serves the per-shop tests (a crawl costs seconds of start-up); the gzip bomb
and the stop tests run their own crawl.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from demo.hostile import SECRET_PAGE, HostileServer, Sizes, product_page
from tests.test_faults_harness import Crawl, bijia_env, newest_run, stored
from tests.test_spiders_localsite import LocalSite

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BIJIA = [sys.executable, "-c", "from cli import app; app()"]
PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print('peak_rss_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)
SMALL = Sizes(body_mb=3, bomb_mb=20, drip_interval=0.2, drip_seconds=60, offers=3000, depth=10_000)
SHOPS = {
    "calm": {},
    "redirects": {},
    "huge": {"limits": {"max_response_mb": 1}},
    "drip": {"limits": {"download_timeout": 1}},
    "offerbomb": {"limits": {"max_offers_per_page": 1000}},
    "endless": {"max_pages": 5},
    "endless-api": {"limits": {"max_requests": 8}},
    "cursor": {},
    "links": {},
    "numbers": {},
    "unstorable": {},
}


def hostile_crawl(
    server: HostileServer, tmp: Path, shops: dict[str, dict], timeout: float = 240
) -> tuple[Crawl, int]:
    """``bijia crawl`` of ``shops`` (name → marketplace fields) → (the crawl, its peak RSS in KB)."""
    config = tmp / "hostile.toml"
    config.write_text("\n".join(server.marketplace_toml(s, **f) for s, f in shops.items()), encoding="utf-8")
    db = tmp / "b.duckdb"
    args = [sys.executable, "-c", PEAK_RSS, *BIJIA, "crawl", "--config", str(config), "--db", str(db)]
    done = subprocess.run(
        args, cwd=ROOT, env=bijia_env(server.base_url), capture_output=True, text=True, timeout=timeout
    )
    peak = int(done.stderr.rsplit("peak_rss_kb", 1)[1].split()[0])
    return Crawl(done.returncode, done.stderr, newest_run(db)), peak


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "secret.html").write_text(SECRET_PAGE, encoding="utf-8")
    with (
        HostileServer().start() as internal,
        HostileServer(
            SMALL, secret_file=str(tmp / "secret.html"), internal_url=f"{internal.base_url}/calm/p/good-1"
        ) as server,
    ):
        result, _ = hostile_crawl(server, tmp, SHOPS)
        yield result, stored(tmp / "b.duckdb"), server, internal


def shop_report(crawled, shop: str) -> tuple[dict, dict]:
    result, got, _, _ = crawled
    return result.market(shop), got.offers.get(shop, {})


def test_the_healthy_shop_publishes_and_counts_are_what_was_stored(crawled):
    result, got, _, _ = crawled
    assert result.code == 0, result.stderr[
        -2000:
    ]  # nothing failed outright: each hostile shop had good pages
    assert result.status("calm") == "ok" and set(got.offers["calm"]) == {"calm-good-1", "calm-good-2"}
    for shop in SHOPS:
        assert result.market(shop)["offers"] == len(got.offers.get(shop, {})), shop
    assert got.staging_rows == 0
    assert "Traceback" not in result.stderr


def test_a_redirect_loop_is_dropped_and_reported(crawled):
    report, offers = shop_report(crawled, "redirects")
    assert report["status"] == "degraded"
    assert "2 page(s) in a redirect loop" in report["reason"]  # the endless chain and the A → B → A pair
    assert set(offers) == {"redirects-good-1", "redirects-good-2"}


def test_a_huge_body_a_streamed_one_and_a_gzip_bomb_stop_at_the_size_cap(crawled):
    report, offers = shop_report(crawled, "huge")
    assert report["status"] == "degraded"
    assert "3 response(s) over limits.max_response_mb = 1 dropped" in report["reason"]
    assert set(offers) == {"huge-good-1", "huge-good-2"}


def test_a_slow_drip_ends_at_the_total_timeout(crawled):
    report, offers = shop_report(crawled, "drip")
    assert report["status"] == "degraded"
    assert "download(s) cut at the total timeout of 1 s" in report["reason"]  # 1 s although bytes keep coming
    assert set(offers) == {"drip-good-1", "drip-good-2"}


def test_a_json_ld_offer_bomb_is_capped_and_a_deep_one_is_reported(crawled):
    report, offers = shop_report(crawled, "offerbomb")
    assert report["status"] == "degraded"
    assert "2,000 offer(s) over limits.max_offers_per_page = 1,000 dropped" in report["reason"]
    assert "1 product page(s) without a readable product" in report["reason"]  # 10,000 levels deep
    assert len(offers) == 1000 + 2


def test_endless_category_pages_stop_at_the_page_cap(crawled):
    report, offers = shop_report(crawled, "endless")
    assert report["status"] == "degraded" and "page cap reached" in report["reason"]
    assert "(max_pages = 5)" in report["reason"]
    assert len(offers) == 5 * 2
    said = [line for line in crawled[0].stderr.splitlines() if line.startswith("endless ")]
    assert said and "degraded" in said[0] and "page cap reached" in said[0]  # on stderr, even under cron
    assert "endless: degraded 10 offers" in crawled[0].run["summary"]  # the `bijia runs` table
    assert "page cap reached" in crawled[0].run["summary"]


def test_an_endless_api_stops_at_the_request_cap(crawled):
    report, offers = shop_report(crawled, "endless-api")
    assert report["status"] == "degraded"
    assert "request cap reached: 1 link(s) not followed (limits.max_requests = 8)" in report["reason"]
    assert len(offers) == 8 * 2


def test_an_api_that_repeats_its_page_for_ever_stops(crawled):
    report, offers = shop_report(crawled, "cursor")
    assert report["status"] == "ok"  # nothing was left unread: the shop just never said "last page"
    assert "pagination stopped: 1 page(s) repeated an earlier page" in report["reason"]
    assert set(offers) == {"1", "2", "3"}
    assert crawled[2].hits["cursor"] == 2


def test_local_files_other_services_and_script_urls_are_never_fetched_or_stored(crawled):
    report, offers = shop_report(crawled, "links")
    _, got, server, internal = crawled
    assert internal.hits == {}  # a link and a redirect to another local service: refused
    assert not [p for p in server.paths if "secret" in p]
    assert set(offers) == {"links-good-1", "links-good-2"}  # not the file: / data: page, not the script URL
    assert "refused 1 offsite, 1 private address link(s)" in report["reason"]
    assert report["dropped_reasons"] == {"url_not_http": 1}
    assert report["status"] == "ok"  # refusing what a shop should not have linked loses nothing of it


def test_numbers_no_shop_means_as_a_price_are_dropped_with_reasons(crawled):
    report, offers = shop_report(crawled, "numbers")
    assert report["dropped_reasons"] == {
        "price_scientific_notation": 2,  # "1e308", "1e3"
        "price_not_a_number": 1,  # {"v": 1}
        "price_rounds_to_zero": 2,  # 0.001, "0.004"
    }
    assert "cleared list price out of range ×1" in report["reason"]  # a list price of 99999999999999999
    assert set(offers) == {"numbers-good-1", "numbers-good-2", "numbers-huge-list-price"}
    assert offers["numbers-huge-list-price"][0] == Decimal("39.00")


def test_values_that_cannot_be_stored_lose_only_that_value(crawled):
    report, offers = shop_report(crawled, "unstorable")
    assert set(offers) == {"10", "20", "30", "40", "60"}  # every product, the batch was not lost
    assert "cleared list price scientific notation ×1, text not unicode ×1" in report["reason"]
    assert report["status"] == "ok" and report["offers"] == 5


def test_a_gzip_bomb_keeps_memory_bounded(tmp_path: Path):
    """512 MB of zeros in 0.5 MB of gzip: decompression stops at the cap (main read it all: RSS > 700 MB)."""
    with HostileServer(Sizes(bomb_mb=512, body_mb=1)) as server:
        result, peak_kb = hostile_crawl(
            server, tmp_path, {"calm": {}, "huge": {"limits": {"max_response_mb": 4}}}
        )
    assert result.status("calm") == "ok" and result.status("huge") == "degraded"
    assert "1 response(s) over" in result.market("huge")["reason"]
    assert peak_kb < 450_000, f"peak RSS {peak_kb} KB"


def test_an_interrupted_run_of_a_shop_announcing_three_million_pages_stops(tmp_path: Path):
    """SIGINT after the first page: the run stops (exit 4, resumable) with a bounded queue; main scheduled
    all 3,000,000 pages first and did not exit within ten minutes."""
    config = tmp_path / "woo.toml"
    with HostileServer(Sizes(total_pages=3_000_000)) as server:
        config.write_text(server.marketplace_toml("woo-huge"), encoding="utf-8")
        db = tmp_path / "b.duckdb"
        args = [*BIJIA, "run", "--config", str(config), "--db", str(db), "--snapshots", str(tmp_path / "s")]
        proc = subprocess.Popen(
            args, cwd=ROOT, env=bijia_env(server.base_url), stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 240
        while server.hits["woo-huge"] < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.hits["woo-huge"] >= 3, "the crawl never got past the first page"
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)  # a hang guard, not a timing: main needed > 600 s
    assert proc.returncode == 4, err[-2000:]
    run = newest_run(db)
    assert run["status"] == "interrupted"
    woo = run["stats"]["marketplaces"]["woo-huge"]
    assert "page(s) with more links than limits.max_links_per_page = 50,000" in woo["reason"]
    queue = tmp_path / "b.duckdb.state" / "jobs" / run["run_id"] / "woo-huge"
    # the requests scheduled (one fingerprint each, ≥ 16 bytes): the default page cap, not 3,000,000
    assert (queue / "requests.seen").stat().st_size < 10_001 * 32


def test_an_interrupted_crawl_does_not_wait_out_a_retry_after(tmp_path: Path):
    """A 429 asking for 120 s (waited up to RETRY_AFTER_MAX_DELAY, 60 s) when SIGINT comes: the graceful stop
    stops waiting (main sat out the minute)."""
    with LocalSite() as site:
        site.add("/shop/all", '<a class="product-link" href="/shop/p/1">1</a>')
        site.add("/shop/p/1", product_page("Kettle", "K1", "19.00"))
        site.queue("/shop/p/1", 429, b"slow down", **{"Retry-After": "120"})
        config = tmp_path / "m.toml"
        config.write_text(
            f'[[marketplace]]\nname = "shop"\nshape = "jsonld"\nbase_url = "{site.url}/shop/"\n'
            f'start_urls = ["{site.url}/shop/all"]\n',
            encoding="utf-8",
        )
        args = [*BIJIA, "crawl", "--config", str(config), "--db", str(tmp_path / "b.duckdb")]
        proc = subprocess.Popen(args, cwd=ROOT, env=bijia_env(site.url), stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 240
        while "/shop/p/1" not in site.paths() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "/shop/p/1" in site.paths(), "the crawl never reached the product"
        time.sleep(0.5)  # the 429 is in the middleware's wait
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=45)  # a hang guard below the 60 s wait
    assert proc.returncode == 4, err[-2000:]
    assert "crawl ended: shutdown" in err
