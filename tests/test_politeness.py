"""Politeness by default, configurable per marketplace: robots.txt, AutoThrottle, per-domain
concurrency, a User-Agent naming bijia, Retry-After on 429, and the development HTTP cache."""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_reactor_settings

from crawler.config import Marketplace
from crawler.middlewares import EncodingMiddleware, RetryAfterMiddleware
from crawler.runner import crawl_settings
from spiders import SPIDERS
from tests.test_spiders_localsite import LocalSite, crawl

PRODUCT = """<html><head><title>{name}</title><script type="application/ld+json">{{"@type": "Product",
"name": "{name}", "sku": "{sku}", "offers": {{"price": "{price}", "priceCurrency": "CNY"}}}}</script></head>
<body><h1>{name}</h1></body></html>"""


def settings_for(tmp_path: Path, extra: dict | None = None, **market: object):
    """A crawler's settings as ``bijia crawl`` makes them, after the spider applied its marketplace."""
    settings = crawl_settings(tmp_path / "x.duckdb", "r1", extra={**get_reactor_settings(), **(extra or {})})
    m = Marketplace(name="shop", shape="jsonld", base_url="http://127.0.0.1:1/", **market)
    crawler = Crawler(SPIDERS["jsonld"], settings)
    crawler.settings.update(settings)  # what CrawlerProcess.create_crawler(crawler) does
    crawler.spider = crawler._create_spider(marketplace=m)
    crawler._apply_settings()
    return crawler.settings


def test_polite_defaults(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    assert s["USER_AGENT"].startswith("bijia/") and "github.com" in s["USER_AGENT"]
    assert s.getbool("ROBOTSTXT_OBEY") and s.getbool("AUTOTHROTTLE_ENABLED")
    assert (
        s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 8 and s.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY") == 8
    )
    assert {429, 503} <= set(s.getlist("RETRY_HTTP_CODES")) and s.getint("RETRY_TIMES") >= 2
    middlewares = {load_object(k): v for k, v in s.getdict("DOWNLOADER_MIDDLEWARES").items() if v is not None}
    assert middlewares[RetryAfterMiddleware] == 560 and middlewares[EncodingMiddleware] == 580
    assert not s.getbool("HTTPCACHE_ENABLED")


def test_hostile_input_guards_are_on_and_only_http_is_downloaded(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    downloader = s.getwithbase("DOWNLOADER_MIDDLEWARES")
    robots = downloader["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"]
    assert downloader["crawler.guards.UrlPolicyMiddleware"] < robots  # a refused host is not even asked
    assert (
        downloader["crawler.guards.ResponseLimitsMiddleware"]
        < downloader["scrapy.downloadermiddlewares.downloadtimeout.DownloadTimeoutMiddleware"]
    )
    assert downloader["scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"] is None
    assert downloader["crawler.guards.CappedCompressionMiddleware"] == 590
    assert downloader["scrapy.downloadermiddlewares.redirect.RedirectMiddleware"] is None
    assert s.getwithbase("SPIDER_MIDDLEWARES")["crawler.guards.CrawlBudgetMiddleware"] > 1000  # spider side
    handlers = crawl_settings(tmp_path / "x.duckdb", "r1").getwithbase(
        "DOWNLOAD_HANDLERS"
    )  # as a run has them
    assert {scheme for scheme, handler in handlers.items() if handler} == {"http", "https"}
    assert s.getint("DOWNLOAD_MAXSIZE") == 32 * 2**20


def test_per_marketplace_overrides(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = settings_for(
        tmp_path,
        concurrency=2,
        delay=1.5,
        obey_robots=False,
        autothrottle=False,
        user_agent="Mozilla/5.0 (compatible; bijia-test)",
        http_cache=True,
    )
    assert (s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"), s.getfloat("DOWNLOAD_DELAY")) == (2, 1.5)
    assert not s.getbool("ROBOTSTXT_OBEY") and not s.getbool("AUTOTHROTTLE_ENABLED")
    assert s["USER_AGENT"] == "Mozilla/5.0 (compatible; bijia-test)"
    assert s.getbool("HTTPCACHE_ENABLED") and s["HTTPCACHE_DIR"] == str(tmp_path / ".cache")
    assert s["HTTPCACHE_POLICY"] == "crawler.httpcache.RevalidatePolicy"  # RFC2616Policy, always revalidating


def test_a_runs_cache_settings_win_over_the_marketplace(tmp_path: Path) -> None:
    run_cache = str(tmp_path / "state" / "httpcache")
    s = settings_for(tmp_path, {"HTTPCACHE_ENABLED": True, "HTTPCACHE_DIR": run_cache}, http_cache=False)
    assert s.getbool("HTTPCACHE_ENABLED") and s["HTTPCACHE_DIR"] == run_cache


def test_real_crawl_obeys_robots_names_itself_waits_for_retry_after_and_revalidates(tmp_path: Path) -> None:
    with LocalSite() as polite, LocalSite() as rude:
        for site in (polite, rude):
            site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
            site.add(
                "/shop/all",
                '<a class="product-link" href="/shop/p/1">1</a>'
                '<a class="product-link" href="/private/p/2">2</a>',
            )
            site.add("/shop/p/1", PRODUCT.format(name="Kettle", sku="K1", price="99"), ETag='"k1-v1"')
            site.add("/private/p/2", PRODUCT.format(name="Secret", sku="S2", price="1"))
        polite.queue("/shop/p/1", 429, b"slow down", **{"Retry-After": "1"})
        config = tmp_path / "shops.toml"
        config.write_text(
            f'[[marketplace]]\nname = "polite"\nshape = "jsonld"\nbase_url = "{polite.url}/shop/"\n'
            f'start_urls = ["{polite.url}/shop/all"]\nhttp_cache = true\n\n'
            f'[[marketplace]]\nname = "rude"\nshape = "jsonld"\nbase_url = "{rude.url}/shop/"\n'
            f'start_urls = ["{rude.url}/shop/all"]\nobey_robots = false\nuser_agent = "TestAgent/1.0"\n',
            encoding="utf-8",
        )
        result, offers = crawl(config, tmp_path / "x.duckdb", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert {(o["marketplace"], o["title"]) for o in offers} == {
            ("polite", "Kettle"),
            ("rude", "Kettle"),
            ("rude", "Secret"),
        }
        assert "/private/p/2" not in polite.paths() and "/private/p/2" in rude.paths()
        assert {h.headers["user-agent"] for h in polite.hits} == {polite.hits[0].headers["user-agent"]}
        assert polite.hits[0].headers["user-agent"].startswith("bijia/")
        assert {h.headers["user-agent"] for h in rude.hits} == {"TestAgent/1.0"}
        tries = [h.at for h in polite.hits if h.path == "/shop/p/1"]
        assert len(tries) == 2 and tries[1] - tries[0] >= 0.9  # waited for Retry-After: 1
        assert (tmp_path / ".cache" / "polite").is_dir() and not (tmp_path / ".cache" / "rude").exists()

        polite.hits.clear()
        result, offers = crawl(config, tmp_path / "x.duckdb", "-m", "polite", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        [again] = [h for h in polite.hits if h.path == "/shop/p/1"]
        assert again.headers.get("if-none-match") == '"k1-v1"'  # a conditional request, answered 304
        assert [o["title"] for o in offers if o["marketplace"] == "polite"] == ["Kettle"]
