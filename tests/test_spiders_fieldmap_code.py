"""The field-map engine's generated reading (``spiders/pages/fieldmap_code.py``) against its references:
every processor of ``field_values`` on odd and ordinary values, JMESPath itself for the dotted paths it
reads with dict look-ups, ``str.format`` for templates — and names from the file that look like code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jmespath
import pytest

from crawler.config import Marketplace
from spiders.pages.field_values import DEFAULT_PROCESSOR, fragment, text, texts, url_value
from spiders.pages.fieldmap import Document, compile_map

BASE = "https://shop.example/cn/"
PAGE = "https://shop.example/cn/list?page=2"
VALUES: list[Any] = [
    Decimal("5999.00"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    5999,
    0,
    -3,
    True,
    False,
    1.5,
    "5999.00",
    "5,999.00",
    "¥5,999.00",
    " 5999 ",
    "5999\n",
    "٣٤",
    "²",
    "1e3",
    "",
    "  ",
    "仅剩3件",
    "有货",
    "sold out",
    "<em>苹果</em> iPhone 15",
    "a&amp;b",
    "a\u3000b",
    "a\tb",
    "a  b",
    "a\u2003b",
    "item/12",
    "//cdn.example/x.jpg",
    "6900088888887",
    "690-0088-888887",
    None,
    [],
    ["", None, "12.50"],
    [None, ["x"]],
    {},
    {"a": 1},
]
FIELDS = ["title", "price", "final_price", "shipping", "in_stock", "stock_qty", "gtin", "url", "image"]
FIELDS += ["distance_km", "delivery", "currency", "promotions", "seller"]


def read(fields: dict[str, Any], item: dict[str, Any], attributes: dict[str, Any] | None = None) -> dict:
    """What a JSON map with these fields reads from ``item`` (without the listing id it needs)."""
    market = Marketplace.model_validate(
        {
            "name": "m",
            "shape": "fieldmap",
            "base_url": BASE,
            "map": {"format": "json", "items": "items", "fields": {"listing_id": "id", **fields}}
            | ({"attributes": attributes} if attributes else {}),
        }
    )
    assert market.map is not None
    plan = compile_map(market.map, market)
    [(_, values)] = plan.item_values(Document({"items": [{"id": 1, **item}]}, PAGE))
    values.pop("listing_id")
    return values


def expected(field: str, value: Any, scale: Decimal | None = None) -> dict[str, Any]:
    """What the field's processor makes of the value (the first non-empty one of a list)."""
    processor = DEFAULT_PROCESSOR.get(field, "text")
    if processor == "list":
        found = [v for v in (value if isinstance(value, list) else [value]) if v not in (None, "")]
        return {field: texts(found)} if found else {}
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "", [], {})), None)
    if value is None or value == "":
        return {}
    if processor == "url":
        return {field: url_value(value, PAGE, BASE, False)}
    if processor == "text" and field != "currency":
        return {field: text(value)}
    return fragment(field, processor, value, hint="CNY", scale=scale)


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_reads_what_its_processor_makes_of_the_value(field: str) -> None:
    for value in VALUES:
        assert read({field: "v"}, {"v": value}) == expected(field, value), (field, value)


def test_scaled_prices_read_like_the_processor() -> None:
    scale = Decimal("0.01")
    for value in VALUES:
        got = read({"price": {"path": "v", "scale": 0.01}}, {"v": value})
        assert got == expected("price", value, scale), value


@pytest.mark.parametrize(
    "path", ["a", "a.b", "a.b.c", "a.list[0].c", "a.list[-1].c", "a.list[5].c", "a.b[0]", "a.list[1]"]
)
def test_dotted_paths_find_what_jmespath_finds(path: str) -> None:
    documents = [
        {"a": {"b": {"c": "x"}, "list": [{"c": "first"}, {"c": "last"}]}},
        {"a": {"b": "not an object", "list": "not a list"}},
        {"a": {"list": []}},
        {"a": ["a list"]},
        {"a": None},
        {},
    ]
    for document in documents:
        want = expected("title", jmespath.search(path, document))
        assert read({"title": path}, document) == want, (path, document)


def test_templates_read_like_str_format() -> None:
    item = {"v": "x", "n": 0, "s": "a b"}
    assert read({"title": {"template": "{{}} {n}/{}", "path": "v"}}, item) == {"title": "{} 0/x"}
    assert read({"title": {"template": "{{missing}}={v}"}}, item) == {"title": "{missing}=x"}  # literal
    assert read({"title": {"template": "{s}-{missing}"}}, item) == {}
    assert read({"title": {"template": "{}!", "path": "missing"}}, item) == {}
    assert read({"url": {"template": "item/{n}"}}, item) == {"url": BASE + "item/0"}
    assert read({"url": {"template": "/top/{v}"}}, item) == {"url": "https://shop.example/top/x"}


def test_names_from_the_file_are_names_not_code() -> None:
    hostile = "x'] = 1; import os #\"\n"
    got = read({}, {"spec": "500ml×12瓶", "k": "red"}, attributes={hostile: "k", "size": "spec"})
    assert got == {"attributes": {hostile: "red", "size": "500ml×12瓶"}}
    assert read({"title": {"path": "k", "regex": "(r)e"}}, {"k": "red"}) == {"title": "r"}
