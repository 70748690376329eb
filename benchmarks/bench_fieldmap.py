"""Extraction throughput: the field-map engine against hand-written extractors on the same demo pages.

    .venv/bin/python -m benchmarks.bench_fieldmap --size 3000 --repeats 5

Pages from the demo generator, extracted in this process (no network): shopline's ``products.json`` and
woomart's Store API pages by the hand-written ``shopify``/``woocommerce`` extractors and by field maps
describing the same formats; jingxuan's rendered listing and shandian's store pages by the hand-written
extractors of before the engine (read from git, commit ``BEFORE``) and by the ``browser``/``instant``
presets. Offers/s is the median of the runs; the ratio engine ÷ hand-written is what issue 13 asks about
(≥ 0.9). Each pair is timed alternately in the same runs, so machine load hits both alike; the time is
the process's CPU time (extraction is pure computation in one thread: on a shared machine the wall clock
also counts the time other processes had the core), ``--wall`` for the wall clock.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, Table, median
from crawler.config import Marketplace
from crawler.pipelines import PricePipeline
from demo.catalogue import generate_catalogue
from demo.faults import Faults
from demo.feeds import jingxuan_items, shandian_products, shandian_stores, shopify_products, woo_products
from spiders.pages import browser_listing, instant, shopify, woocommerce
from spiders.pages.fieldmap import compile_map

BEFORE = "ef1ebf6"
"""The last commit with the hand-written browser and instant extractors."""
BASE = "http://127.0.0.1:8765"
SHOPIFY_MAP = {
    "format": "json",
    "items": "products",
    "variants": "variants",
    "fields": {
        "listing_id": "id",
        "title": {"template": "{$parent.title} - {title}"},
        "price": "price",
        "list_price": "compare_at_price",
        "in_stock": "available",
        "gtin": "barcode",
        "sku": "sku",
        "brand": "$parent.vendor",
        "category": "$parent.product_type",
        "url": {"template": "products/{$parent.handle}?variant={id}"},
        "image": "$parent.images[0].src",
    },
}
WOO_MAP = {
    "format": "json",
    "items": "@",
    "fields": {
        "listing_id": "id",
        "title": "name",
        "price": {"path": "prices.price", "scale": 0.01},
        "list_price": {"path": "prices.regular_price", "scale": 0.01},
        "currency": "prices.currency_code",
        "in_stock": "is_in_stock",
        "sku": "sku",
        "category": "categories[0].name",
        "url": "permalink",
        "image": "images[0].src",
    },
}


def old_module(name: str) -> Any:
    """``spiders/pages/<name>.py`` as it was at ``BEFORE``, imported under another name."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{BEFORE}:spiders/pages/{name}.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="bijia-bench-") as folder:  # imported, then removed
        path = Path(folder) / f"old_{name}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"old_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return module


def rendered_listing(items: list[dict[str, Any]]) -> str:
    """jingxuan's listing as its script renders it (the markup of docs/ARCHITECTURE.md)."""
    cards = []
    for it in items:
        coupon = f'<span class="coupon-price">{it["coupon_price"]}</span>' if it["coupon_price"] else ""
        cards.append(
            f'<div class="item" data-offer="{it["id"]}"><a class="title" href="{it["url"]}">{it["title"]}</a>'
            f'<span class="shop">{it["shop"]}</span><span class="price">{it["price"]}</span>{coupon}'
            f'<span class="shipping">{it["shipping"]}</span><span class="delivery">{it["delivery"]}</span>'
            f'<span class="stock">{it["stock"]}</span></div>'
        )
    return f'<html><body><div id="list">{"".join(cards)}</div></body></html>'


Extractor = Callable[[], int]


def pairs(size: int) -> dict[str, tuple[Extractor, Extractor]]:
    """Per demo shop: (hand-written, engine), each extracting every page once and returning the offers."""
    cat = generate_catalogue(size, 7)
    none = Faults()
    shopify_pages = []  # bodies as served: both sides parse them
    for page in range(1, 1000):
        body = shopify_products(cat, {"limit": "250", "page": str(page)}, BASE, none).body
        if not json.loads(body)["products"]:
            break
        shopify_pages.append(body)
    woo_pages = []
    for page in range(1, 1000):
        body = woo_products(cat, {"per_page": "100", "page": str(page)}, BASE, none).body
        if not json.loads(body):
            break
        woo_pages.append(body)
    listing = []
    for page in range(1, 1000):
        body = json.loads(jingxuan_items(cat, {"page": str(page)}, none).body)
        listing += body["items"]
        if not body["has_more"]:
            break
    html = rendered_listing(listing)
    stores = instant.extract_stores(shandian_stores(cat).body)
    store_pages = []
    for store in stores:
        for page in range(1, 1000):
            reply = shandian_products(cat, int(store.id), {"page": str(page), "size": "100"}, none)
            store_pages.append((store, reply.body))
            if page >= json.loads(reply.body)["total_pages"]:
                break

    shop = Marketplace(name="shopline", shape="fieldmap", base_url=f"{BASE}/shopline/", map=SHOPIFY_MAP)
    woo = Marketplace(name="woomart", shape="fieldmap", base_url=f"{BASE}/woomart/", map=WOO_MAP)
    jx = Marketplace(name="jingxuan", shape="browser", base_url=f"{BASE}/jingxuan/")
    sd = Marketplace(name="shandian", shape="instant", base_url=f"{BASE}/shandian/")
    shop_plan, woo_plan = compile_map(shop.map, shop), compile_map(woo.map, woo)  # type: ignore[arg-type]
    old_browser, old_instant = old_module("browser_listing"), old_module("instant")
    old_stores = {
        s.id: old_instant.extract_stores(shandian_stores(cat).body)[i] for i, s in enumerate(stores)
    }

    prices = PricePipeline()

    def count(offers_per_page: Any) -> int:
        """Offers made usable: the price pipeline parses what an extractor left as text (the old browser
        extractor left every price to it; the engine parses them itself)."""
        return sum(1 for offers in offers_per_page for offer in offers if prices.process_item(offer))

    return {
        "shopline (products.json)": (
            lambda: count(shopify.extract_offers(p, BASE, shop) for p in shopify_pages),
            lambda: count(shop_plan.offers(shop_plan.document(p, BASE)) for p in shopify_pages),
        ),
        "woomart (Store API)": (
            lambda: count(woocommerce.extract_offers(p, BASE, woo) for p in woo_pages),
            lambda: count(woo_plan.offers(woo_plan.document(p, BASE)) for p in woo_pages),
        ),
        "jingxuan (rendered listing)": (
            lambda: count([old_browser.extract_offers(html, jx.base_url, jx)]),
            lambda: count([browser_listing.extract_offers(html, jx.base_url, jx)]),
        ),
        "shandian (store pages)": (
            lambda: count(old_instant.extract_offers(b, BASE, sd, old_stores[s.id]) for s, b in store_pages),
            lambda: count(instant.extract_offers(b, BASE, sd, s) for s, b in store_pages),
        ),
    }


def rate(extract: Extractor, clock: Callable[[], float] = time.process_time) -> float:
    started = clock()
    offers = extract()
    return offers / (clock() - started)


def measure(size: int, repeats: int, *, wall: bool = False) -> dict[str, tuple[float, float]]:
    """``{shop: (hand-written offers/s, engine offers/s)}``, medians of ``repeats`` alternating runs."""
    clock = time.perf_counter if wall else time.process_time
    out = {}
    for name, (hand, engine) in pairs(size).items():
        hand(), engine()  # warm up (imports, compiled selectors)
        hands, engines = [], []
        for _ in range(repeats):
            hands.append(rate(hand, clock))
            engines.append(rate(engine, clock))
        out[name] = (median(hands), median(engines))
    return out


def add_figures(table: Table, results: dict[str, tuple[float, float]], command: str) -> None:
    for name, (hand, engine) in results.items():
        table.add(
            "field maps",
            f"{name}",
            f"{engine / hand:.2f}",
            "× hand-written",
            f"engine {engine:,.0f} offers/s, hand-written {hand:,.0f} offers/s (CPU time)",
            command=command,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_fieldmap", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--size", type=int, default=3000, help="demo catalogue SKUs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--wall", action="store_true", help="time with the wall clock, not CPU time")
    args = parser.parse_args(argv)
    results = measure(args.size, args.repeats, wall=args.wall)
    for name, (hand, engine) in results.items():
        print(
            f"{name:30} hand-written {hand:9,.0f} offers/s   engine {engine:9,.0f} offers/s   {engine / hand:.2f}x"
            + (" (wall clock)" if args.wall else " (CPU time)")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
