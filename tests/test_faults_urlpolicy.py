"""The URL policy (``crawler.urlpolicy``), the downloader guard that applies it to every request, and the
probe of `bijia marketplaces add` / `check` (``crawler.http_get``): http(s) only, the marketplace's own
hosts, no other local service, a total deadline and a size cap on every answer."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler
from typer.testing import CliRunner

from cli import app
from crawler.config import Marketplace
from crawler.guards import UrlPolicyMiddleware
from crawler.urlpolicy import UrlPolicy, http_url, is_private
from demo.hostile import HostileServer, Sizes, product_page
from service.marketplaces import fetch
from tests.test_spiders_localsite import LocalSite

DEMO = UrlPolicy.of(["http://127.0.0.1:8765/techmall/"])
SHOP = UrlPolicy.of(["https://www.shop.example/"], ["cdn.other.example", "10.0.0.5:9200"])


@pytest.mark.parametrize(
    ("policy", "url", "refusal"),
    [
        (DEMO, "http://127.0.0.1:8765/techmall/p/1", None),
        (DEMO, "http://127.0.0.1:8765/shopline/products.json", None),  # the host:port the config names
        (DEMO, "http://127.0.0.1:6379/", "private_address"),  # another local service on the same host
        (DEMO, "http://127.0.0.2:8765/", "offsite"),
        (DEMO, "http://localhost:8765/", "offsite"),
        (DEMO, "http://169.254.169.254/latest/meta-data/", "offsite"),
        (DEMO, "http://2130706433:8765/", "offsite"),  # 127.0.0.1 spelled as one number
        (DEMO, "http://[::1]:8765/", "offsite"),
        (DEMO, "file:///etc/passwd", "not_http"),
        (DEMO, " JaVaScRiPt:alert(1)", "not_http"),
        (DEMO, "java\tscript:alert(1)", "not_http"),
        (DEMO, "data:text/html,<script>alert(1)</script>", "not_http"),
        (DEMO, "ftp://127.0.0.1:8765/", "not_http"),
        (DEMO, "http://127.0.0.1:notaport/", "not_http"),
        (SHOP, "https://shop.example/p/1", None),  # www. also allows the bare domain
        (SHOP, "https://m.shop.example/p/1", None),  # and its subdomains
        (SHOP, "https://cdn.other.example/p/1", None),  # allow_hosts
        (SHOP, "https://evilshop.example/", "offsite"),
        (SHOP, "https://shop.example.evil.example/", "offsite"),
        (SHOP, "http://10.0.0.5:9200/", None),  # a private host named with its port
        (SHOP, "http://10.0.0.5:22/", "private_address"),
    ],
)
def test_url_policy(policy: UrlPolicy, url: str, refusal: str | None) -> None:
    assert policy.refusal(url) == refusal


@pytest.mark.parametrize(
    "host",
    ["169.254.169.254", "127.0.0.1", "127.1", "0x7f.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1",
     "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "localhost", "db.localhost"],
)  # fmt: skip
def test_private_hosts(host: str) -> None:
    assert is_private(host)


@pytest.mark.parametrize("host", ["8.8.8.8", "shop.example", "2606:4700::1111", "127.0.0.1.nip.example"])
def test_public_hosts(host: str) -> None:
    assert not is_private(host)


def test_http_url_keeps_only_absolute_http_urls() -> None:
    assert http_url("  https://shop.example/p?1 ") == "https://shop.example/p?1"
    assert [http_url(u) for u in ("/p/1", "mailto:a@b.c", "http://", "https:///p", None, 42)] == [None] * 6


def test_the_downloader_guard_refuses_before_any_connection_and_counts() -> None:
    crawler = get_crawler()
    market = Marketplace(name="shop", shape="jsonld", base_url="http://127.0.0.1:8765/shop/")
    crawler.spider = SimpleNamespace(marketplace=market)
    crawler.stats = MemoryStatsCollector(crawler)
    guard = UrlPolicyMiddleware(crawler)
    guard.process_request(Request("http://127.0.0.1:8765/shop/p/1"))  # allowed: returns, nothing counted
    for url, reason in [
        ("http://127.0.0.1:6379/", "private_address"),
        ("http://169.254.169.254/latest/meta-data/", "offsite"),
        ("file:///etc/passwd", "not_http"),
    ]:
        with pytest.raises(IgnoreRequest, match=reason.replace("_", " ")):
            guard.process_request(Request(url))
    assert crawler.stats.get_stats() == {
        "bijia/refused/private_address": 1,
        "bijia/refused/offsite": 1,
        "bijia/refused/not_http": 1,
    }


# ------------------------------------------------------------------ the probe of `marketplaces add`


def test_the_probe_gives_up_on_a_dripping_page_at_its_total_timeout() -> None:
    """urllib's timeout is per read: main read a page dripping a byte every 0.2 s for its whole 30 s and then
    raised (a traceback for `bijia marketplaces add`)."""
    with HostileServer(Sizes(drip_interval=0.2, drip_seconds=30)) as server:
        started = time.monotonic()
        got = fetch(f"{server.base_url}/drip/p/drip", timeout=1)
        waited = time.monotonic() - started
    assert got.error == "cannot fetch: no complete answer within 1 s"
    assert waited < 29  # not the whole drip (a bound on the test, not a timing of the code)


def test_the_probe_stops_reading_a_gzip_bomb_at_the_size_cap() -> None:
    with HostileServer(Sizes(bomb_mb=64, body_mb=40)) as server:
        bomb = fetch(f"{server.base_url}/huge/p/bomb")
        big = fetch(f"{server.base_url}/huge/p/big")
    assert bomb.error == "the answer is larger than 32 MB" and bomb.body == b""
    assert big.error == "the answer is larger than 32 MB"


def test_the_probe_follows_no_redirect_to_another_local_service() -> None:
    with LocalSite() as internal, LocalSite() as shop:
        internal.add("/admin", "secret")
        shop.add("/go", "", status=302, Location=f"{internal.url}/admin")
        got = fetch(f"{shop.url}/go")
    assert internal.hits == [] and got.error is not None and "refused (private address)" in got.error


def test_marketplaces_add_never_takes_a_sitemap_on_another_host_from_robots_txt(tmp_path: Path) -> None:
    """A shop's robots.txt listing the cloud metadata address and another local service as sitemaps: main
    wrote both into the marketplaces file (and the next crawl fetched them); now neither is taken."""
    with LocalSite() as internal, LocalSite() as shop:
        shop.add(
            "/robots.txt",
            f"Sitemap: http://169.254.169.254/latest/meta-data/\nSitemap: {internal.url}/sitemap.xml\n",
            "text/plain",
        )
        shop.add("/", product_page("Kettle", "K1", "19.00"))
        config = tmp_path / "shops.toml"
        result = CliRunner().invoke(app, ["marketplaces", "add", f"{shop.url}/", "--config", str(config)])
        assert result.exit_code == 0, result.output
        assert internal.hits == []
    text = config.read_text(encoding="utf-8")
    assert "169.254.169.254" not in text and internal.url not in text
    assert f'start_urls = ["{shop.url}/"]' in text
