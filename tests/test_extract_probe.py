"""A shop added by its product URL: the probe keeps the currency the page shows, and a crawl of the file
stores the offer (the product URL is a start URL that yields, not a category page that yields nothing)."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

from service.marketplaces import add_marketplace
from spiders.pages.product_page import page_currency
from tests.test_spiders_localsite import LocalSite, crawl

PRODUCT = """<!DOCTYPE html><html lang="en-US"><head><title>Desk lamp – Lamps &amp; Co</title>
<meta property="og:title" content="Desk lamp"></head><body><h1>Desk lamp, brass</h1>
<div class="product-price"><span class="price">$7.99</span></div><p class="stock">In stock</p>
<table><tr><th>SKU</th><td>DL-100</td></tr></table></body></html>"""


def test_page_currency() -> None:
    assert page_currency(PRODUCT, "http://127.0.0.1/p/1") == "USD"
    assert page_currency(PRODUCT.replace('lang="en-US"', 'lang="en-CA"'), "http://127.0.0.1/p/1") == "CAD"
    markup = '<script type="application/ld+json">{"@type":"Product","name":"x","offers":{"price":"1","priceCurrency":"EUR"}}</script>'
    assert page_currency(markup, "http://127.0.0.1/p/1") == "EUR"
    assert page_currency("<html><body><p>Hello</p></body></html>", "http://127.0.0.1/") is None


def test_a_usd_shop_added_by_a_product_url_is_crawled_in_usd(tmp_path: Path) -> None:
    config = tmp_path / "shops.toml"
    with LocalSite() as site:
        site.add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
        site.add("/lamps/p/desk-lamp", PRODUCT)
        market, found = add_marketplace(config, f"{site.url}/lamps/p/desk-lamp", name="lamps", timeout=5)
        written = tomllib.loads(config.read_text(encoding="utf-8"))["marketplace"][0]
        assert (written["currency"], written["start_urls"]) == ("USD", [f"{site.url}/lamps/p/desk-lamp"])
        assert market.currency == "USD" and found.currency == "USD"
        result, offers = crawl(config, tmp_path / "b.duckdb")
    assert result.returncode == 0, result.stderr
    assert [(o["listing_id"], o["title"], o["price"], o["currency"]) for o in offers] == [
        ("DL-100", "Desk lamp, brass", Decimal("7.99"), "USD")
    ]
