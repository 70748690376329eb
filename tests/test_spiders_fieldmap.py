"""The field-map engine: processors, HTML/JSON/script maps, pagination kinds, detail pages, presets, and
configuration errors — with fake responses (no network)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from typer.testing import CliRunner

from cli import app
from crawler.config import ConfigError, FieldMap, Marketplace, load_marketplaces
from spiders.pages import browser_listing
from spiders.pages.field_values import fragment, stock_fragment, unit_attributes
from spiders.pages.fieldmap import compile_map
from tests.test_extract_recorded import PAGES
from tests.test_spiders import BASE, call, split, start_requests

HINT = "CNY"


def spider_for(field_map: dict[str, Any], **extra: Any) -> Any:
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings
    from scrapy.utils.test import get_reactor_settings

    from spiders import SPIDERS

    market = Marketplace.model_validate(
        {"name": "fm", "shape": "fieldmap", "base_url": f"{BASE}/fm/", "map": field_map, **extra}
    )
    crawler = Crawler(
        SPIDERS["fieldmap"], Settings({"TELNETCONSOLE_ENABLED": False, **get_reactor_settings()})
    )
    crawler.spider = crawler._create_spider(marketplace=market)
    crawler._apply_settings()
    return crawler.spider


def json_response(request: Request, data: Any) -> TextResponse:
    return TextResponse(url=request.url, body=json.dumps(data).encode(), request=request, encoding="utf-8")


# --- processors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("¥5,999.00", "5999.00", "CNY"),
        ("5999元", "5999", "CNY"),
        ("券后价 ¥5,799", "5799", "CNY"),
        ("¥99-¥199", "99", "CNY"),
        ("¥99起", "99", "CNY"),
        ("EUR 13,97", "13.97", "EUR"),
        ("$19.99", "19.99", "USD"),
    ],
)
def test_price_texts_go_through_the_price_parser(text: str, amount: str, currency: str) -> None:
    out = fragment("price", "price", text, hint=HINT, scale=None)
    assert (out["price"], out["price_raw"], out["currency"]) == (Decimal(amount), text, currency)


def test_numbers_scale_and_the_other_processors() -> None:
    assert fragment("price", "price", 129900, hint=HINT, scale=Decimal("0.01"))["price"] == Decimal("1299.00")
    assert fragment("final_price", "price", "券后¥1,199.00", hint=HINT, scale=None)["final_price"] == Decimal(
        "1199.00"
    )
    assert fragment("shipping", "shipping", "包邮", hint=HINT, scale=None)["shipping"] == 0
    assert fragment("shipping", "shipping", "运费¥8.00", hint=HINT, scale=None)["shipping"] == Decimal("8.00")
    assert fragment("delivery", "delivery", "次日达", hint=HINT, scale=None)["delivery_hours"] == 24
    assert fragment("delivery", "minutes", 45, hint=HINT, scale=None) == {
        "delivery_hours": 0.75,
        "delivery_raw": "45分钟",
    }
    assert fragment("title", "text", "金狐狸<span class=H>女包</span>链条包", hint=HINT, scale=None) == {
        "title": "金狐狸女包链条包"
    }
    assert fragment("gtin", "gtin", "6901234567892", hint=HINT, scale=None) == {"gtin": "6901234567892"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("有货", {"in_stock": True}),
        ("无货", {"in_stock": False}),
        ("已售罄", {"in_stock": False}),
        ("仅剩3件", {"in_stock": True, "stock_qty": 3}),
        ("IN_STOCK", {"in_stock": True}),
        ("OUT_OF_STOCK", {"in_stock": False}),
        (0, {"in_stock": False, "stock_qty": 0}),
        (True, {"in_stock": True}),
        ("", {}),
    ],
)
def test_stock_words(value: Any, expected: dict[str, Any]) -> None:
    assert stock_fragment(value) == expected


def test_unit_and_pack_texts() -> None:
    assert unit_attributes("500ml×12瓶") == {"size": "500ml", "pack": "12"}
    assert unit_attributes("1.5L") == {"size": "1.5l"}
    assert unit_attributes("12罐装 330ml") == {"size": "330ml"}
    assert unit_attributes("标准装") == {"spec": "标准装"}


# --- maps -------------------------------------------------------------------------------------------


def test_html_map_with_xpath_attributes_regex_templates_and_constants() -> None:
    m = Marketplace.model_validate(
        {
            "name": "h",
            "shape": "fieldmap",
            "base_url": "https://shop.example/",
            "map": {
                "items": "//ul[@id='list']/li",
                "fields": {
                    "listing_id": {"attr": "data-id"},
                    "title": "./h3",
                    "price": ".price",
                    "url": {"attr": "data-id", "template": "item/{}.html"},
                    "seller": {"const": "官方旗舰店"},
                    "stock_qty": {"css": ".left", "regex": r"(\d+)"},
                    "image": "img::attr(src)",
                },
                "attributes": {"pack": {"css": ".spec", "processor": "unit"}, "colour": ".colour"},
            },
        }
    )
    page = """<ul id="list">
      <li data-id="A1"><h3>可乐 <b>零度</b></h3><span class="price">¥39.90</span><span class="left">仅剩 7 件</span>
          <span class="spec">330ml×24罐</span><img src="//img.example/a1.jpg"></li>
      <li data-id="A2"><h3>雪碧</h3><span class="price">¥3.50</span><span class="colour">绿色</span></li>
      <li class="ad">广告</li></ul>"""
    plan = compile_map(m.map, m)  # type: ignore[arg-type]
    first, second = plan.offers(plan.document(page, "https://shop.example/list?page=1"))
    assert (first.listing_id, first.title, first.price, first.currency) == (
        "A1",
        "可乐 零度",
        Decimal("39.90"),
        "CNY",
    )
    assert first.url == "https://shop.example/item/A1.html" and first.image == "https://img.example/a1.jpg"
    assert (first.seller, first.stock_qty, first.attributes) == (
        "官方旗舰店",
        7,
        {"size": "330ml", "pack": "24"},
    )
    assert second.attributes == {"colour": "绿色"} and second.stock_qty is None


def test_json_in_a_script_variants_parent_and_page_scopes() -> None:
    data = {
        "shop": {"name": "NextMall", "currency": "USD"},
        "products": [
            {
                "id": 7,
                "title": "Kettle",
                "vendor": "Acme",
                "variants": [
                    {"id": 71, "name": "1L", "price": "19.90"},
                    {"id": 72, "name": "2L", "price": "24.90", "compare": "29.90"},
                ],
            }
        ],
    }
    page = f"<html><script>window.__INITIAL_STATE__ = {json.dumps(data)};</script></html>"
    m = Marketplace.model_validate(
        {
            "name": "j",
            "shape": "fieldmap",
            "base_url": "https://shop.example/",
            "map": {
                "script": "window.__INITIAL_STATE__",
                "items": "products",
                "variants": "variants",
                "fields": {
                    "listing_id": "id",
                    "title": {"template": "{$parent.title} - {name}"},
                    "price": "price",
                    "list_price": "compare",
                    "brand": "$parent.vendor",
                    "seller": "$page.shop.name",
                    "currency": "$page.shop.currency",
                },
            },
        }
    )
    plan = compile_map(m.map, m)  # type: ignore[arg-type]
    one, two = plan.offers(plan.document(page, "https://shop.example/"))
    assert (one.title, one.price, one.currency, one.brand, one.seller) == (
        "Kettle - 1L",
        Decimal("19.90"),
        "USD",
        "Acme",
        "NextMall",
    )
    assert (two.listing_id, two.list_price) == ("72", Decimal("29.90"))


def test_jsonp_and_javascript_literals_are_json_too() -> None:
    m = Marketplace.model_validate(
        {
            "name": "p",
            "shape": "fieldmap",
            "base_url": "https://shop.example/",
            "map": {"format": "json", "items": "data.items", "fields": {"title": "t", "price": "p"}},
        }
    )
    plan = compile_map(m.map, m)  # type: ignore[arg-type]
    [offer] = plan.offers(plan.document("jsonp123({data: {items: [{t: '毛巾', p: 9.9,}]}})", "https://x/"))
    assert (offer.title, offer.price) == ("毛巾", Decimal("9.9"))


def test_a_preset_takes_the_fields_of_the_file_on_top() -> None:
    """A browser shop with other class names needs only the fields that differ."""
    m = Marketplace.model_validate(
        {
            "name": "b",
            "shape": "browser",
            "base_url": f"{BASE}/b/",
            "map": {"fields": {"title": ".name", "price": ".cost"}},
        }
    )
    html = (
        '<div data-offer="X1"><span class="name">电饭煲</span><span class="cost">¥299.00</span>'
        '<span class="stock">有货</span></div>'
    )
    [offer] = browser_listing.extract_offers(html, m.base_url, m)
    assert (offer.listing_id, offer.title, offer.price, offer.in_stock) == (
        "X1",
        "电饭煲",
        Decimal("299.00"),
        True,
    )


# --- pagination and detail pages ---------------------------------------------------------------------


def items(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"P{i}", "name": f"item {i}", "price": f"{i + 1}.00"} for i in range(start, start + n)]


JSON_FIELDS = {"listing_id": "id", "title": "name", "price": "price"}


def test_page_parameter_with_total_pages_asks_for_the_rest_at_once() -> None:
    spider = spider_for(
        {
            "format": "json",
            "items": "data",
            "fields": JSON_FIELDS,
            "pagination": {"kind": "page", "size": 2, "size_param": "limit", "total_pages": "meta.pages"},
        },
        start_urls=[f"{BASE}/fm/api?q=x"],
        max_pages=3,
    )
    [first] = start_requests(spider)
    assert first.url == f"{BASE}/fm/api?q=x&limit=2"
    offers, more = split(call(first, json_response(first, {"data": items(2), "meta": {"pages": 9}})))
    assert len(offers) == 2
    assert [r.url for r in more] == [f"{BASE}/fm/api?q=x&limit=2&page=2", f"{BASE}/fm/api?q=x&limit=2&page=3"]
    _, after = split(call(more[0], json_response(more[0], {"data": items(2, 2), "meta": {"pages": 9}})))
    assert after == []  # pages 2..3 were asked for together; they do not chain


def test_offset_cursor_and_has_more() -> None:
    offset = spider_for(
        {
            "format": "json",
            "items": "data",
            "fields": JSON_FIELDS,
            "pagination": {"kind": "offset", "size": 20},
        }
    )
    [first] = start_requests(offset)
    _, [second] = split(call(first, json_response(first, {"data": items(2)})))
    assert second.url.endswith("?offset=20")

    cursor = spider_for(
        {
            "format": "json",
            "items": "data",
            "fields": JSON_FIELDS,
            "pagination": {"kind": "cursor", "param": "after", "cursor": "next"},
        }
    )
    [first] = start_requests(cursor)
    _, [second] = split(call(first, json_response(first, {"data": items(2), "next": "abc"})))
    assert second.url == f"{BASE}/fm/?after=abc"
    _, last = split(call(second, json_response(second, {"data": items(2, 2), "next": None})))
    assert last == []

    has_more = spider_for(
        {
            "format": "json",
            "items": "data",
            "fields": JSON_FIELDS,
            "pagination": {"kind": "page", "has_more": "more"},
        }
    )
    [first] = start_requests(has_more)
    assert split(call(first, json_response(first, {"data": items(2), "more": False})))[1] == []


def test_a_page_of_nothing_new_ends_the_walk() -> None:
    spider = spider_for(
        {"format": "json", "items": "data", "fields": JSON_FIELDS, "pagination": {"kind": "page"}}
    )
    [first] = start_requests(spider)
    _, [second] = split(call(first, json_response(first, {"data": items(2)})))
    offers, more = split(call(second, json_response(second, {"data": items(2)})))  # page 1 served again
    assert offers == [] and more == []
    assert spider.crawler.stats.get_value("bijia/pagination_end_empty_or_seen") == 1


def test_next_link_in_html() -> None:
    spider = spider_for(
        {
            "items": "div.p",
            "fields": {"title": ".t", "price": ".m"},
            "pagination": {"kind": "next_link", "next": "a.next::attr(href)"},
        },
        start_urls=[f"{BASE}/fm/list"],
    )
    [first] = start_requests(spider)
    page = '<div class="p"><b class="t">锅</b><i class="m">¥88</i></div><a class="next" href="?page=2">下一页</a>'
    response = HtmlResponse(url=first.url, body=page.encode(), request=first, encoding="utf-8")
    [offer], [following] = split(call(first, response))
    assert offer.price == Decimal(88) and following.url == f"{BASE}/fm/list?page=2"


def test_detail_pages_fill_fields_and_a_failed_one_keeps_the_listing() -> None:
    spider = spider_for(
        {
            "format": "json",
            "items": "data",
            "fields": {**JSON_FIELDS, "url": "link"},
            "detail": {"fields": {"shipping": ".ship", "in_stock": ".stock", "gtin": "#ean"}},
        }
    )
    [first] = start_requests(spider)
    data = {"data": [{"id": "A", "name": "茶壶", "price": "58.00", "link": "/fm/item/A"}]}
    offers, [detail] = split(call(first, json_response(first, data)))
    assert offers == [] and detail.url == f"{BASE}/fm/item/A"
    page = '<p class="ship">运费¥8.00</p><p class="stock">现货</p><p id="ean">6901234567892</p>'
    [offer] = call(detail, HtmlResponse(url=detail.url, body=page.encode(), request=detail, encoding="utf-8"))
    assert (offer.title, offer.shipping, offer.in_stock, offer.gtin) == (
        "茶壶",
        Decimal("8.00"),
        True,
        "6901234567892",
    )

    class Failure:
        request = detail

    [kept] = list(spider.detail_failed(Failure()))
    assert (kept.listing_id, kept.price, kept.shipping) == ("A", Decimal("58.00"), None)
    assert spider.crawler.stats.get_value("bijia/detail_failed") == 1


# --- configuration errors ---------------------------------------------------------------------------

BAD = """
[[marketplace]]
name = "shop"
shape = "fieldmap"
base_url = "https://shop.example/"

[marketplace.map]
format = "json"
items = "data.items"

[marketplace.map.fields]
title = "name"
price = "price[?"
"""


def test_a_bad_map_names_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "shops.toml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"shops.toml line 13: marketplace 'shop': map.*price: not a JMESPath"
    ):
        load_marketplaces(path)
    result = CliRunner().invoke(app, ["marketplaces", "list", "-c", str(path)])
    assert result.exit_code == 78 and "line 13" in result.stderr and "Traceback" not in result.stderr
    for broken, message in [
        ('title = "name"', "unknown field"),
        (
            'items = "data.items"',
            r"line 2: marketplace 'shop': shape 'fieldmap' needs \[marketplace.map\] with items",
        ),
    ]:
        replacement = {'title = "name"': 'titel = "name"', 'items = "data.items"': ""}[broken]
        path.write_text(BAD.replace(broken, replacement).replace('price[?"', 'price"'), encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_marketplaces(path)
    path.write_text(BAD.replace('shape = "fieldmap"', 'shape = "shopify"').replace('price[?"', 'price"'))
    with pytest.raises(ConfigError, match="a map applies to the shapes fieldmap, browser, instant"):
        load_marketplaces(path)


def test_bad_selectors_and_pagination_are_rejected() -> None:
    with pytest.raises(ValueError, match="items: not a CSS selector"):
        FieldMap.model_validate({"items": "div[", "fields": {}})
    with pytest.raises(ValueError, match="kind = 'cursor' needs cursor"):
        FieldMap.model_validate({"items": "a", "pagination": {"kind": "cursor"}})
    with pytest.raises(ValueError, match="needs \\[render\\]"):
        FieldMap.model_validate({"items": "a", "pagination": {"kind": "scroll"}})
    with pytest.raises(ValueError, match="an action has one of"):
        FieldMap.model_validate({"items": "a", "render": {"actions": [{"click": "a", "wait": "b"}]}})


def test_the_recorded_browser_page_reads_the_same_through_the_preset() -> None:
    m = Marketplace(name="jingxuan", shape="browser", base_url=f"{BASE}/jingxuan/")
    offers = browser_listing.extract_offers((PAGES / "browser" / "listing.html").read_bytes(), m.base_url, m)
    assert [o.listing_id for o in offers] and all(o.price is not None for o in offers)
