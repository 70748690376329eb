"""schema.org extraction against the issue's list: AggregateOffer, ProductGroup variants (nested and by
``@id``), every GTIN key, seller/offeredBy, shippingDetails, availability words, priceSpecification.

The saved pages are in tests/fixtures/pages/jsonld/ (field-by-field expectations beside each); these
tests name the behaviour each page is there for.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.values import availability, gtin, structured_price
from crawler.config import Marketplace
from spiders.pages import jsonld
from tests.test_extract_recorded import PAGES

M = Marketplace(name="shop", shape="jsonld", base_url="http://127.0.0.1:8765/shop/", default_shipping=10)


def offers(page: str) -> list:
    return jsonld.extract_offers(
        (PAGES / "jsonld" / page).read_bytes(), f"http://127.0.0.1:8765/shop/p/{page}", M
    )


def test_product_group_variants_linked_by_id_count_once_with_the_groups_fields() -> None:
    got = offers("graph-variants.html")
    assert [(o.sku, o.price, o.in_stock) for o in got] == [
        ("44E01-M11000", Decimal("39.99"), True),
        ("44E01-K11000", Decimal("49.99"), True),  # BackOrder
        ("44E01-N11000", Decimal("39.99"), False),
    ]  # schema:SoldOut
    assert {o.brand for o in got} == {"Ghiacciaio"} and {o.seller for o in got} == {"Outdoor Co."}
    first = got[0]
    assert first.list_price == Decimal("59.99")  # StrikethroughPrice specification
    assert (first.shipping, first.delivery_hours) == (Decimal("3.49"), 24.0)  # doesNotShip entry skipped
    assert first.attributes == {"colour": "green", "size": "small", "material": "wool"}
    assert [o.gtin for o in got] == ["98766051104214", "09876605110429", "96385074"]  # gtin14, gtin, gtin8


def test_aggregate_offer_low_price_written_the_european_way() -> None:
    [offer] = offers("aggregate-eu.html")
    assert (offer.price, offer.price_raw, offer.currency) == (Decimal("1299.00"), "1.299,00", "EUR")
    assert offer.seller == "preise.example" and offer.brand == "Miele"  # offeredBy, manufacturer
    assert offer.gtin == "040251566080"  # a numeric gtin12 gets its leading zero back


def test_aggregate_offer_of_no_offers_is_out_of_stock() -> None:
    [offer] = offers("aggregate-none.html")
    assert (offer.price, offer.in_stock) == (Decimal("4490"), False)


def test_aggregate_offer_children_inherit_its_currency() -> None:
    html = (
        '<script type="application/ld+json">{"@type": "Product", "name": "Kettle", "offers": {'
        '"@type": "AggregateOffer", "priceCurrency": "EUR", "lowPrice": 20, "offers": ['
        '{"@type": "Offer", "price": 20, "seller": {"name": "A"}}, {"@type": "Offer", "price": "25.50",'
        '"seller": "B", "availability": "OutOfStock"}]}}</script>'
    )
    got = jsonld.extract_offers(html, "http://127.0.0.1:8765/shop/p/k", M)
    assert [(o.seller, o.price, o.currency, o.in_stock) for o in got] == [
        ("A", Decimal(20), "EUR", None),
        ("B", Decimal("25.50"), "EUR", False),
    ]


def test_microdata_price_text_and_list_price_specification() -> None:
    [offer] = offers("microdata-zh.html")
    assert (offer.title, offer.price, offer.currency) == (
        "小米 Redmi K70 12GB+256GB 墨羽 5G手机",
        Decimal("2299.00"),
        "CNY",
    )
    assert (offer.list_price, offer.list_price_raw) == (Decimal("2499.00"), "¥2,499.00")
    assert (offer.seller, offer.gtin, offer.mpn, offer.in_stock) == (
        "优品商城自营",
        "6941812750126",
        "2311DRK48C",
        True,
    )


def test_rdfa_seller_shipping_and_plain_word_availability() -> None:
    [offer] = offers("rdfa.html")
    assert (offer.price, offer.currency, offer.shipping, offer.seller, offer.in_stock) == (
        Decimal("89.99"),
        "GBP",
        Decimal("4.95"),
        "ToolShed UK",
        True,
    )


def test_product_without_name_takes_the_title_a_person_reads() -> None:
    [offer] = offers("no-name.html")
    assert (offer.title, offer.price, offer.currency) == (
        "九阳 豆浆机 DJ13B-D08EC 1.3L",
        Decimal("299"),
        "CNY",
    )


def test_unit_price_specification_is_never_the_price() -> None:
    html = (
        '<script type="application/ld+json">{"@type": "Product", "name": "Coffee 500 g", "offers": {'
        '"@type": "Offer", "priceSpecification": [{"@type": "UnitPriceSpecification", "price": 3.98,'
        '"priceCurrency": "CNY", "referenceQuantity": {"value": 100, "unitCode": "GRM"}},'
        '{"@type": "UnitPriceSpecification", "price": "19.90", "priceCurrency": "CNY"}]}}</script>'
    )
    [offer] = jsonld.extract_offers(html, "http://127.0.0.1:8765/shop/p/c", M)
    assert (offer.price, offer.currency) == (Decimal("19.90"), "CNY")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://schema.org/InStock", True),
        ("http://schema.org/InStock", True),
        ("schema:InStock", True),
        ("InStock", True),
        ("in stock", True),
        ("in_stock", True),
        ("instock", True),
        ("PreOrder", True),
        ("https://schema.org/LimitedAvailability", True),
        ("BackOrder", True),
        ("available for order", True),
        ("有货", True),
        ("现货", True),
        ("https://schema.org/OutOfStock", False),
        ("SoldOut", False),
        ("Discontinued", False),
        ("out of stock", False),
        ("out-of-stock", False),
        ("oos", False),
        ("无货", False),
        ("缺货", False),
        ("售罄", False),
        ("", None),
        (None, None),
        ("pending", None),
        (True, None),
    ],
)
def test_availability_urls_and_words(value: object, expected: bool | None) -> None:
    assert availability(value) is expected


@pytest.mark.parametrize(
    ("value", "length", "expected"),
    [
        ("96385074", None, "96385074"),
        ("0-12345-67890-5", None, "012345678905"),
        ("4006381333931", 13, "4006381333931"),
        (12345678905, 12, "012345678905"),
        ("98766051104214", 14, "98766051104214"),
        ("urn:gtin:4006381333931", None, "4006381333931"),
        ("gtin13:4006381333931", None, "4006381333931"),
        ("https://id.gs1.org/01/09506000134352/10/ABC", None, "09506000134352"),
        ("123", None, None),
        ("ABC-123", None, None),
        ("12345678901", None, None),
        (True, None, None),
    ],
)
def test_gtin_forms(value: object, length: int | None, expected: str | None) -> None:
    assert gtin(value, length) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1299.00", "1299.00"),
        (1299, "1299"),
        (39.99, "39.99"),
        ("1,299.00", "1299.00"),
        ("1.299,00", "1299.00"),
        ("¥1,299.00", "1299.00"),
        ("$19.99", "19.99"),
        ("99元起", "99"),
        ("¥**", None),
        (None, None),
        ("询价", None),
    ],
)
def test_structured_price(value: object, expected: str | None) -> None:
    assert structured_price(value) == (None if expected is None else Decimal(expected))
