"""Recorded pages: every input page in tests/fixtures/pages/<shape>/ against its ``.expected.json``.

Compared field by field. Re-record after an intended change with
``.venv/bin/python tests/fixtures/pages/record.py`` and review the diff.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.offer import OFFER_FIELDS, Offer
from crawler.config import Marketplace
from spiders.pages import browser_listing, instant, jsonld, shopify, woocommerce

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
BASE = "http://127.0.0.1:8765"
NOT_INPUTS = {"stores.json", "category.html"}
MARKETPLACES = {
    "jsonld": Marketplace(name="techmall", shape="jsonld", base_url=f"{BASE}/techmall/", default_shipping=10),
    "shopify": Marketplace(
        name="shopline", shape="shopify", base_url=f"{BASE}/shopline/", default_shipping=0
    ),
    "woocommerce": Marketplace(
        name="woomart", shape="woocommerce", base_url=f"{BASE}/woomart/", default_shipping=8
    ),
    "browser": Marketplace(name="jingxuan", shape="browser", base_url=f"{BASE}/jingxuan/"),
    "instant": Marketplace(name="shandian", shape="instant", base_url=f"{BASE}/shandian/"),
}
PAGE_URLS = {
    "jsonld": f"{BASE}/techmall/p/{{stem}}",
    "shopify": f"{BASE}/shopline/products.json?limit=250&page=1",
    "woocommerce": f"{BASE}/woomart/wp-json/wc/store/v1/products?per_page=100&page=1",
    "browser": f"{BASE}/jingxuan/",
    "instant": f"{BASE}/shandian/api/stores/{{store}}/products?page=1&size=50",
}


def input_pages() -> list[Path]:
    return sorted(
        p
        for p in PAGES.glob("*/*")
        if p.suffix in (".html", ".json")
        and not p.name.endswith(".expected.json")
        and p.name not in NOT_INPUTS
    )


def expected_path(page: Path) -> Path:
    return page.with_name(page.name + ".expected.json")


def extract(page: Path) -> list[Offer]:
    shape = page.parent.name
    m = MARKETPLACES[shape]
    body = page.read_bytes()
    if shape == "instant":
        store_id = page.stem.split("-", 1)[1]
        store = next(
            s for s in instant.extract_stores((page.parent / "stores.json").read_bytes()) if s.id == store_id
        )
        return instant.extract_offers(body, PAGE_URLS[shape].format(store=store_id), m, store)
    url = PAGE_URLS[shape].format(stem=page.name.split(".")[0])
    module = {"jsonld": jsonld, "shopify": shopify, "woocommerce": woocommerce, "browser": browser_listing}[
        shape
    ]
    return module.extract_offers(body, url, m)


def as_json(offer: Offer) -> dict[str, Any]:
    """An offer as JSON (Decimal as string so 7999.00 stays 7999.00), without ``observed_at``."""
    out = {}
    for name in OFFER_FIELDS:
        value = getattr(offer, name)
        if name == "observed_at":
            continue
        out[name] = str(value) if isinstance(value, Decimal) else value
    return out


def record() -> list[Path]:
    written = []
    for page in input_pages():
        target = expected_path(page)
        target.write_text(
            json.dumps([as_json(o) for o in extract(page)], ensure_ascii=False, indent=1) + "\n",
            encoding="utf-8",
        )
        written.append(target)
    return written


@pytest.mark.parametrize("page", input_pages(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recorded_page(page: Path) -> None:
    target = expected_path(page)
    assert target.exists(), f"no {target.name}: run tests/fixtures/pages/record.py and review it"
    expected = json.loads(target.read_text(encoding="utf-8"))
    got = [as_json(o) for o in extract(page)]
    assert [o["listing_id"] for o in got] == [o["listing_id"] for o in expected]
    for want, have in zip(expected, got, strict=True):
        for name, value in want.items():
            assert have[name] == value, f"{page.name} {want['listing_id']}: field {name}"


def test_every_shape_has_recorded_pages() -> None:
    assert {p.parent.name for p in input_pages()} == set(MARKETPLACES)
