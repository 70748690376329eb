"""Shopify ``/products.json``: one offer per variant.

``listing_id`` is the variant ``id``; the title is the product title + " - " + the variant title
(unless Shopify's ``Default Title``); ``price`` is Shopify's price string; shipping is the
marketplace's ``default_shipping``.
"""

from __future__ import annotations

from typing import Any

from core.offer import Offer
from core.values import gtin, money
from crawler.config import Marketplace
from spiders.pages._common import clean, to_json

DEFAULT_TITLE = "Default Title"
_OPTION_KEYS = {"color": "colour", "colour": "colour", "size": "size", "storage": "storage"}


def products(body: str | bytes | dict) -> list[dict]:
    """The ``products`` list of a products.json page (empty at the end of the catalogue)."""
    data = to_json(body)
    items = data.get("products") if isinstance(data, dict) else None
    return [p for p in items or [] if isinstance(p, dict)]


def extract_offers(body: str | bytes | dict, url: str, marketplace: Marketplace) -> list[Offer]:
    return [offer for product in products(body) for offer in _product_offers(product, marketplace)]


def _product_offers(product: dict, m: Marketplace) -> list[Offer]:
    option_names = [
        clean(o.get("name")) if isinstance(o, dict) else clean(o) for o in product.get("options") or []
    ]
    images = {i.get("id"): i.get("src") for i in product.get("images") or [] if isinstance(i, dict)}
    first_image = next(iter(images.values()), None)
    title = clean(product.get("title")) or ""
    offers = []
    for variant in product.get("variants") or []:
        if not isinstance(variant, dict) or variant.get("id") is None:
            continue
        vtitle = clean(variant.get("title"))
        price, list_price = money(variant.get("price")), money(variant.get("compare_at_price"))
        featured = variant.get("featured_image")
        shown = list_price is not None and price is not None and list_price > price  # a real "was" price
        unreadable = list_price is None and variant.get("compare_at_price") not in (
            None,
            "",
        )  # "1e20": counted
        offers.append(
            Offer(
                marketplace=m.name,
                listing_id=str(variant["id"]),
                url=m.url(f"products/{product.get('handle') or product.get('id')}?variant={variant['id']}"),
                title=f"{title} - {vtitle}" if vtitle and vtitle != DEFAULT_TITLE else title,
                brand=clean(product.get("vendor")),
                gtin=gtin(variant.get("barcode")),
                sku=clean(variant.get("sku")),
                category=clean(product.get("product_type")),
                attributes=_attributes(variant, option_names),
                price=price,
                price_raw=clean(variant.get("price")),
                list_price=list_price if shown else None,
                list_price_raw=clean(variant.get("compare_at_price")) if shown or unreadable else None,
                currency=m.currency,
                shipping=m.default_shipping,
                in_stock=variant.get("available") if isinstance(variant.get("available"), bool) else None,
                image=(featured.get("src") if isinstance(featured, dict) else None)
                or images.get(variant.get("image_id"))
                or first_image,
            )
        )
    return offers


def _attributes(variant: dict, option_names: list[str | None]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(1, 4):
        value: Any = clean(variant.get(f"option{i}"))
        if not value or value == DEFAULT_TITLE:
            continue
        name = (option_names[i - 1] if i <= len(option_names) else None) or f"option{i}"
        out[_OPTION_KEYS.get(name.lower(), name.lower())] = value
    return out
