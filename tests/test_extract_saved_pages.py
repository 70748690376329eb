"""The failure classes the real saved pages showed (``tests/fixtures/real_product_pages``), one test
each: the saved page that shows the class, read against its hand-read truth, and a small page that
pins the rule down."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pytest

from core.encoding import choose_encoding
from crawler.config import Marketplace
from service.held_out import real_pages_root, same_title
from spiders.pages.jsonld import read_product_page
from spiders.pages.page_title import title_name

ROOT = real_pages_root()
TRUTH = {p["file"].removesuffix(".html.gz"): p for p in json.loads((ROOT / "truth.json").read_text("utf-8"))}
URL = "http://127.0.0.1:8765/shop/p/kettle-1"
M = Marketplace(name="shop", shape="jsonld", base_url="http://127.0.0.1:8765/shop/")


def saved(name: str) -> tuple[Decimal | None, str | None, str | None, dict]:
    """(price, currency, title) bijia reads on a saved page, and the page's truth."""
    truth = TRUTH[name]
    body = gzip.decompress((ROOT / truth["file"]).read_bytes())
    market = Marketplace(name="saved", shape="jsonld", base_url=truth["url"])
    summary = read_product_page(body, truth["url"], market, "text/html").summary
    return summary.price, summary.currency, summary.title, truth


def small(body: str, title: str = "Shop", head: str = "") -> tuple[Decimal | None, str | None]:
    html = f'<html lang="en-GB"><head><title>{title}</title>{head}</head><body>{body}</body></html>'
    summary = read_product_page(html, URL, M).summary
    return summary.price, summary.title


@pytest.mark.parametrize("name", ["aliexpress-he-iphone-se", "taobao-keyboard-case", "tmall-iphone-11"])
def test_a_price_range_is_read_as_its_lowest_price(name: str) -> None:
    price, currency, _, truth = saved(name)
    assert (price, currency) == (Decimal(truth["price"]), truth["currency"])


def test_a_range_needs_two_ascending_amounts() -> None:
    assert small("<h1>Kettle</h1><p class='price'>£12.00 - £15.50</p>")[0] == Decimal("12.00")
    assert small("<h1>Kettle</h1><p class='price'>£15.50 - £12.00</p>")[0] is None  # not a range
    assert small("<h1>Kettle</h1><p class='price'>£12.00 - 3 pack</p>")[0] is None


@pytest.mark.parametrize("name", ["icone-copper-shade", "icone-mesmeri-halo", "tmall-iphone-11"])
def test_a_price_labelled_in_the_cell_or_term_beside_it(name: str) -> None:
    price, currency, _, truth = saved(name)
    assert (price, currency) == (Decimal(truth["price"]), truth["currency"])


def test_a_label_beside_makes_a_price_without_a_price_name() -> None:
    row = "<table><tr><td>{label}</td><td><b>£340.00 (inc VAT)</b></td></tr></table>"
    assert small("<h1>Shade</h1><p>Lovely shade</p>" + row.format(label="Price"))[0] == Decimal("340.00")
    assert small("<h1>Shade</h1><p>Lovely shade</p>" + row.format(label="Bulb"))[0] is None


def test_prices_of_a_list_of_other_products_are_not_the_buy_box() -> None:
    price, _, _, truth = saved("tmall-iphone-11")  # a shop's best-seller ranking under the heading
    assert price == Decimal(truth["price"])
    listed = "".join(f"<li class='item'><p class='price'>£{n}.00</p></li>" for n in (21, 35, 48))
    assert small(f"<h1>Kettle</h1><ul>{listed}</ul>")[0] is None


@pytest.mark.parametrize("name", ["taobao-keyboard-case", "globalindustrial-bench-top"])
def test_the_main_title_element_and_a_heading_inside_a_with_slider_box(name: str) -> None:
    price, _, title, truth = saved(name)
    assert same_title(title, truth["title"]) and price == Decimal(truth["price"])


@pytest.mark.parametrize("name", ["tempur-mattress", "retrosixty-lamp", "jd-huawei-enjoy-6"])
def test_the_title_from_the_pages_title_when_no_heading_names_the_product(name: str) -> None:
    price, _, title, truth = saved(name)
    assert same_title(title, truth["title"])
    assert price == (Decimal(truth["price"]) if truth["price"] else None)


def test_the_shops_name_is_left_out_of_the_title() -> None:
    assert (
        title_name("retrosixty - Charlotte Perriand lamp", "www.retrosixty.co.uk")
        == "Charlotte Perriand lamp"
    )
    assert title_name("Kettle 1.7 l | Tempur", "www.tempur.co.uk") == "Kettle 1.7 l"
    assert small("<p>Price: £60</p>", title="retrosixty - Charlotte Perriand lamp")[1] is not None


def test_utf8_bytes_under_a_legacy_charset_read_as_utf8() -> None:
    _, _, title, truth = saved("jd-huawei-enjoy-6")  # saved as UTF-8, its meta still says gbk
    assert same_title(title, truth["title"])
    text = "<html><head><meta charset='gbk'><title>华为 畅享6 金色</title></head><body>{}</body></html>"
    assert choose_encoding(text.format("价格").encode("utf-8")) == "utf-8"
    assert choose_encoding(text.format("价格").encode("gbk")) == "gb18030"  # gbk, as w3lib names it
    assert (
        choose_encoding(text.replace("华为 畅享6 金色", "Kettle").format("").encode("ascii")) == "gb18030"
    )  # ASCII: the declaration


def test_an_opengraph_sale_price_beats_the_regular_price_in_the_markup() -> None:
    price, currency, _, truth = saved("rejuvenation-keystick-sconce")  # JSON-LD 150.00 = og standard
    assert (price, currency) == (Decimal(truth["price"]), truth["currency"])
    ld = '<script type="application/ld+json">{"@type": "Product", "name": "Kettle", "offers": {"price": "150.00", "priceCurrency": "USD"}}</script>'
    og = '<meta property="product:price:amount" content="150.00"><meta property="product:sale_price:amount" content="{sale}">'
    summary = read_product_page(
        f"<html><head>{ld}{og.format(sale='120.00')}</head><body></body></html>", URL, M
    ).summary
    assert (summary.price, summary.list_price) == (Decimal("120.00"), Decimal("150.00"))
    summary = read_product_page(
        f"<html><head>{ld}{og.format(sale='180.00')}</head><body></body></html>", URL, M
    ).summary
    assert (summary.price, summary.list_price) == (Decimal("150.00"), None)  # a "sale" above the price: no


def test_the_shops_id_in_the_url_that_the_markup_carries_is_the_sku() -> None:
    body = "<h1>Kettle</h1><p class='price'>£12.00</p>{}"
    url = "http://127.0.0.1:8765/shop/kettle-steel-p400105394.html"
    carried = body.format("<form><input name='product' value='400105394'></form>")
    assert read_product_page(f"<html><body>{carried}</body></html>", url, M).summary.sku == "400105394"
    script = body.format("<script>var item = {id: 400105394, qty: 1};</script>")
    assert read_product_page(f"<html><body>{script}</body></html>", url, M).summary.sku == "400105394"
    elsewhere = body.format("<p>Call 4001053941 for help</p>")  # only inside another number
    assert read_product_page(f"<html><body>{elsewhere}</body></html>", url, M).summary.sku is None


@pytest.mark.parametrize("name", ["amazon-com-gorilla-tape", "amazon-com-wall-sconce"])
def test_availability_named_as_such_in_a_buy_box_form_far_from_the_price(name: str) -> None:
    truth = TRUTH[name]
    body = gzip.decompress((ROOT / truth["file"]).read_bytes())
    market = Marketplace(name="saved", shape="jsonld", base_url=truth["url"])
    summary = read_product_page(body, truth["url"], market, "text/html").summary
    assert summary.in_stock is (truth["availability"] == "InStock")
    form = (
        "<form id='addToCart'><div id='availability'><span>{}</span></div><button>Add to Cart</button></form>"
    )
    far = "<p>x</p>" * 500
    for words, stock in (("In Stock.", True), ("Currently unavailable.", False)):
        html = (
            f"<html><body>{form.format(words)}{far}<h1>Kettle</h1><p class='price'>£12.00</p></body></html>"
        )
        assert read_product_page(html, URL, M).summary.in_stock is stock
    button = (
        "<h1>Kettle</h1><p class='price'>£12.00</p><button class='add-to-cart'><span>Sold out</span></button>"
    )
    assert read_product_page(f"<html><body>{button}</body></html>", URL, M).summary.in_stock is None


def test_a_style_number_is_the_sku() -> None:
    truth = TRUTH["michaelkors-sandal"]
    body = gzip.decompress((ROOT / truth["file"]).read_bytes())
    market = Marketplace(name="saved", shape="jsonld", base_url=truth["url"])
    assert read_product_page(body, truth["url"], market, "text/html").summary.sku in truth["sku"]
    page = "<html><body><h1>Sandal</h1><p class='price'>$80</p><p>Style: Contemporary</p>{}</body></html>"
    assert read_product_page(page.format("<p>Style #: 40T6MBMS1S</p>"), URL, M).summary.sku == "40T6MBMS1S"
    assert read_product_page(page.format(""), URL, M).summary.sku is None  # a style word is no id
