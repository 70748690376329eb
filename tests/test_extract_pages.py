"""Extraction page objects: real schema.org pages, link discovery and edge cases."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from crawler.config import Marketplace
from spiders.pages import browser_listing, instant, jsonld, shopify, woocommerce

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pages"
SHARED = Path(os.environ.get("BIJIA_SHARED") or Path(__file__).resolve().parents[2] / "shared")
SCHEMA_ORG = SHARED / "pages" / "schema-org"
M = Marketplace(name="shop", shape="jsonld", base_url="http://127.0.0.1:8765/shop/", default_shipping=5)

needs_shared = pytest.mark.skipif(
    not SCHEMA_ORG.exists(),
    reason=f"real schema.org pages not available: {SCHEMA_ORG} (set BIJIA_SHARED to the shared folder)",
)


@needs_shared
@pytest.mark.parametrize(
    ("page", "title", "price", "currency"),
    [
        ("product.html", "Executive Anvil", "119.99", "USD"),
        ("product-ref.html", "Executive Anvil", "119.99", "USD"),
        ("product_microdata.html", "Executive Anvil", "119.99", "USD"),
        ("opengraph_ns_product_test.html", "Better Off Dead [Exclusive Blu-ray Steelbook]", "17.99", "USD"),
    ],
)
def test_real_schema_org_pages(page: str, title: str, price: str, currency: str) -> None:
    offers = jsonld.extract_offers((SCHEMA_ORG / page).read_bytes(), "https://shop.example/p/1", M)
    assert len(offers) == 1  # related/referenced products are not offers
    offer = offers[0]
    assert (offer.title, offer.price, offer.currency) == (title, Decimal(price), currency)
    assert offer.in_stock is True
    assert offer.shipping == Decimal(5)  # the page states none: the marketplace default


@needs_shared
def test_real_pages_agree_with_extructs_metadata() -> None:
    meta = json.loads((SCHEMA_ORG / "product.json").read_text())[0]["properties"]
    offer = jsonld.extract_offers((SCHEMA_ORG / "product.html").read_bytes(), "https://shop.example/p/1", M)[
        0
    ]
    assert offer.brand == meta["brand"] and offer.mpn == meta["mpn"]
    assert offer.seller == meta["offers"]["properties"]["seller"]["properties"]["name"]


def test_opengraph_is_only_a_fallback() -> None:
    html = (
        (FIXTURES / "jsonld" / "product.html")
        .read_text()
        .replace("<head>", '<head><meta property="product:price:amount" content="1.00">', 1)
    )
    offers = jsonld.extract_offers(html, "http://127.0.0.1:8765/shop/p/1", M)
    assert [o.price for o in offers] == [Decimal("7999.00")]


def test_rdfa_product() -> None:
    html = """<html><body vocab="http://schema.org/"><div typeof="Product">
      <span property="name">Acme Kettle</span><span property="sku">K-1</span>
      <div property="offers" typeof="Offer"><span property="price">89.50</span>
      <meta property="priceCurrency" content="EUR"></div></div></body></html>"""
    offers = jsonld.extract_offers(html, "http://127.0.0.1:8765/shop/p/k1", M)
    assert [(o.listing_id, o.title, o.price, o.currency) for o in offers] == [
        ("K-1", "Acme Kettle", Decimal("89.50"), "EUR")
    ]


def test_page_without_product_yields_nothing_and_sku_less_product_uses_url_path() -> None:
    assert jsonld.extract_offers("<html><body>hello</body></html>", "http://127.0.0.1/x", M) == []
    html = (
        '<script type="application/ld+json">{"@type":"Product","name":"A",'
        '"offers":{"price":"1","priceCurrency":"CNY"}}</script>'
    )
    assert (
        jsonld.extract_offers(html, "http://127.0.0.1:8765/shop/p/a?x=1", M)[0].listing_id == "/shop/p/a?x=1"
    )


def test_category_links_and_rel_next() -> None:
    body = (FIXTURES / "jsonld" / "category.html").read_bytes()
    url = "http://127.0.0.1:8765/techmall/category/all?page=2"
    assert jsonld.product_links(body, url) == [
        "http://127.0.0.1:8765/techmall/p/tm-000123",
        "https://127.0.0.1:8765/techmall/p/tm-000124",
    ]
    assert jsonld.next_page(body, url) == "http://127.0.0.1:8765/techmall/category/all?page=3"
    assert jsonld.next_page("<a href='?page=9'>9</a>", url) is None


def test_gbk_bytes_decode_like_the_utf8_page() -> None:
    m = Marketplace(name="jingxuan", shape="browser", base_url="http://127.0.0.1:8765/jingxuan/")
    gbk = browser_listing.extract_offers(
        (FIXTURES / "browser" / "listing.gbk.html").read_bytes(), m.base_url, m
    )
    utf8 = browser_listing.extract_offers((FIXTURES / "browser" / "listing.html").read_text(), m.base_url, m)
    assert [o.title for o in gbk] == [o.title for o in utf8]
    assert gbk[0].title.startswith("【官方旗舰店】苹果")


def test_shopify_empty_page_ends_the_walk() -> None:
    assert shopify.products(b'{"products": []}') == []
    assert shopify.extract_offers({"products": []}, "http://127.0.0.1/products.json", M) == []


def test_woocommerce_minor_units() -> None:
    assert woocommerce.minor_units("599900", 2) == Decimal("5999.00")
    assert woocommerce.minor_units("1500", 0) == Decimal("1500")
    assert woocommerce.minor_units("12345", 3) == Decimal("12.345")
    assert woocommerce.minor_units("", 2) is None and woocommerce.minor_units("abc", 2) is None


def test_instant_json_prices_are_not_floats() -> None:
    store = instant.Store(id="S9", name="店", delivery_minutes=15, delivery_fee=Decimal("0"))
    body = '{"items": [{"id": 1, "title": "x", "price": 0.1, "promo_price": 0.3, "stock": 3}]}'
    offer = instant.extract_offers(body, "http://127.0.0.1/", M, store)[0]
    assert offer.price == Decimal("0.1") and offer.final_price is None  # promo above price: not a discount
    assert (offer.listing_id, offer.delivery_hours, offer.shipping) == ("1@S9", 0.25, Decimal(0))
    assert instant.total_pages('{"total_pages": 4}') == 4
