"""Product pages read the way a shopper reads them: one test per failure class of issue 12.

Each page is small and shows one thing; what is asserted is what a person reads on it.
"""

from __future__ import annotations

from decimal import Decimal

from crawler.config import Marketplace
from spiders.pages.jsonld import extract_offers, read_product_page

URL = "http://127.0.0.1:8765/shop/p/kettle-1"
M = Marketplace(name="shop", shape="jsonld", base_url="http://127.0.0.1:8765/shop/")


def page(head: str = "", body: str = "", lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><title>Shop</title>{head}</head><body>{body}</body></html>'
    )


def ld(data: str) -> str:
    return f'<script type="application/ld+json">{data}</script>'


def test_type_names_are_case_insensitive() -> None:
    html = page(ld('{"@type": "product", "name": "Kettle", "offers": {"@type": "offer", "price": "19.90", '
                   '"priceCurrency": "EUR", "availability": "InStock"}}'))  # fmt: skip
    [offer] = extract_offers(html, URL, M)
    assert (offer.title, offer.price, offer.currency, offer.in_stock) == (
        "Kettle",
        Decimal("19.90"),
        "EUR",
        True,
    )


def test_product_without_a_price_does_not_hide_the_opengraph_price() -> None:
    head = ld('{"@type": "Product", "name": "Kettle", "sku": "K1", "offers": {"@type": "Offer"}}') + (
        '<meta property="product:price:amount" content="24.50">'
        '<meta property="product:price:currency" content="GBP">'
        '<meta property="product:availability" content="out of stock">'
    )
    [offer] = extract_offers(page(head), URL, M)
    assert (offer.listing_id, offer.price, offer.currency, offer.in_stock) == (
        "K1",
        Decimal("24.50"),
        "GBP",
        False,
    )


def test_product_without_a_price_does_not_hide_the_microdata_price() -> None:
    body = (
        '<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Kettle</h1>'
        '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<span itemprop="price" content="31.00">31,00 €</span><meta itemprop="priceCurrency" content="EUR">'
        "</div></div>"
    )
    head = ld('{"@type": "Product", "name": "Kettle"}')
    [offer] = extract_offers(page(head, body), URL, M)
    assert (offer.price, offer.currency) == (Decimal("31.00"), "EUR")


def test_opengraph_availability_fills_what_jsonld_leaves_out() -> None:
    head = ld('{"@type": "Product", "name": "Kettle", "offers": {"price": "10", "priceCurrency": "USD"}}')
    head += '<meta property="og:availability" content="instock">'
    assert [o.in_stock for o in extract_offers(page(head), URL, M)] == [True]


SALE = """<h1 class="product-title">Kettle 1.7 l</h1>
<div class="price-box"><span class="price price--sale">£19.99</span>
<del class="price price--old">£29.99</del></div><button>Add to basket</button>"""


def test_the_sale_price_in_the_buy_box_beats_the_regular_price_in_the_markup() -> None:
    head = ld(
        '{"@type": "Product", "name": "Kettle 1.7 l", "offers": {"price": "29.99", "priceCurrency": "GBP"}}'
    )
    read = read_product_page(page(head, SALE), URL, M)
    [offer] = read.offers
    assert (offer.price, offer.list_price, offer.currency) == (Decimal("19.99"), Decimal("29.99"), "GBP")
    assert read.disagreements == ["price"]


def test_a_markup_price_the_page_shows_is_kept() -> None:
    head = ld(
        '{"@type": "Product", "name": "Kettle 1.7 l", "offers": {"price": "19.99", "priceCurrency": "GBP"}}'
    )
    read = read_product_page(page(head, SALE), URL, M)
    assert [(o.price, o.list_price) for o in read.offers] == [(Decimal("19.99"), Decimal("29.99"))]
    assert read.disagreements == []


def test_the_currency_on_the_page_beats_another_currency_in_the_markup() -> None:
    head = ld('{"@type": "Product", "name": "Kettle", "offers": {"price": "19.99", "priceCurrency": "USD"}}')
    body = '<h1>Kettle</h1><p class="price">19,99 €</p>'
    read = read_product_page(page(head, body, "de-DE"), URL, M)
    assert [(o.price, o.currency) for o in read.offers] == [(Decimal("19.99"), "EUR")]
    assert read.disagreements == ["currency"]


def test_hidden_words_do_not_leak_into_the_title() -> None:
    body = (
        '<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">'
        '<span class="g-hdn">Details about  </span>Angel Teddy Bear</h1>'
        '<div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><span itemprop="price">12.99</span>'
        '<meta itemprop="priceCurrency" content="GBP"></div></div>'
    )
    assert [o.title for o in extract_offers(page("", body), URL, M)] == ["Angel Teddy Bear"]


def test_a_page_without_markup_gives_the_price_list_price_and_shipping_a_shopper_reads() -> None:
    body = """<header class="site-header"><a href="/">Shop</a> <span class="minicart">Basket £0.00</span></header>
    <main><h1>Acme Kettle 1.7 l, brushed steel</h1>
    <div class="pricing"><span class="now-price">£24.00</span> <s>£30.00</s></div>
    <p class="delivery-line">Delivery £3.95</p><p class="stock">In stock</p>
    <table class="specs"><tr><th>Item number</th><td>AK-1700</td></tr><tr><th>EAN</th><td>5012345678900</td></tr></table>
    <section class="related-products"><h2>You may also like</h2><span class="price">£9.99</span></section></main>"""
    read = read_product_page(page("", body, "en-GB"), URL, M)
    [offer] = read.offers
    assert (offer.title, offer.price, offer.list_price, offer.currency) == (
        "Acme Kettle 1.7 l, brushed steel",
        Decimal("24.00"),
        Decimal("30.00"),
        "GBP",
    )
    assert (offer.shipping, offer.in_stock, offer.listing_id, offer.gtin) == (
        Decimal("3.95"),
        True,
        "AK-1700",
        "5012345678900",
    )
    assert read.marked_up is False


def test_chinese_page_without_markup() -> None:
    body = """<h1 class="goods-name">小米 空气净化器 4 Pro</h1>
    <div class="goods-price"><span class="price">¥1,299.00</span><span class="origin">原价 ¥1,599.00</span></div>
    <p class="freight">包邮</p><p class="stock">无货</p>"""
    [offer] = extract_offers(page("", body, "zh-CN"), URL, M)
    assert (offer.price, offer.list_price, offer.currency) == (Decimal("1299.00"), Decimal("1599.00"), "CNY")
    assert (offer.shipping, offer.in_stock) == (Decimal(0), False)


def test_a_dollar_page_is_not_stored_in_the_default_currency() -> None:
    body = "<h1>Desk lamp</h1><p class='price'>$7.99</p>"
    assert [o.currency for o in extract_offers(page("", body, "en-US"), URL, M)] == ["USD"]
    canadian = Marketplace(name="shop", shape="jsonld", base_url="http://127.0.0.1/", currency="CAD")
    assert [o.currency for o in extract_offers(page("", body, "en"), URL, canadian)] == ["CAD"]


def test_no_heading_or_no_price_gives_no_offer() -> None:
    assert extract_offers(page("", "<h1>About us</h1><p>Founded in 1999.</p>"), URL, M) == []
    assert extract_offers(page("", "<p class='price'>£5.00</p>"), URL, M) == []


def test_prices_in_menus_and_carousels_are_not_the_product_price() -> None:
    body = """<nav class="menu"><a href="/sale">Dresses under £30</a></nav><h1>Linen dress</h1>
    <div class="carousel"><span class="price">£15.00</span></div>"""
    assert extract_offers(page("", body, "en-GB"), URL, M) == []


def test_a_currency_written_beside_the_number_and_a_large_price() -> None:
    body = """<h1>鵝肉鬆 250g</h1><table><tr><td><strong>特價</strong> <b>7 折</b>
    <span style="font:bold 27px Verdana">294</span><span> 元 </span></td></tr></table>"""
    [offer] = extract_offers(page("", body, "zh-TW"), URL, M)
    assert (offer.price, offer.currency) == (Decimal("294"), "TWD")


def test_words_inside_a_buy_button_and_product_cards_are_not_the_product() -> None:
    body = """<h1>Toilet frame set</h1><p class="price">997 zł</p>
    <a class="add-to-basket"><span>Add to basket</span><span class="unavailable-label">Produkt niedostępny</span></a>
    <div class="product-thumb"><span class="price">150.00 zł</span><p>Sold out</p></div>"""
    [offer] = extract_offers(page("", body, "pl-PL"), URL, M)
    assert (offer.price, offer.currency, offer.in_stock) == (Decimal("997"), "PLN", None)


def test_the_shops_own_id_in_the_url_is_the_sku_when_the_page_shows_it() -> None:
    body = "<h1>Zombie scars kit</h1><p class='price'>£1.99</p><p>Listing 302474151804 · ships from UK</p>"
    read = read_product_page(page("", body, "en-GB"), "https://shop.example/itm/302474151804", M)
    assert read.summary.sku == "302474151804"
    unseen = read_product_page(page("", body, "en-GB"), "https://shop.example/itm/999999", M)
    assert unseen.summary.sku is None  # an id the page does not show may be a session or tracking token
