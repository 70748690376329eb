"""WooCommerce Store API (``/wp-json/wc/store/v1/products``): one offer per product.

``listing_id`` is the product ``id``; prices are integer minor units (``"599900"`` with
``currency_minor_unit`` 2 → ``Decimal("5999.00")``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from core.offer import Offer
from core.values import gtin
from crawler.config import Marketplace
from spiders.pages._common import clean, to_json

_ATTR_KEYS = {"color": "colour", "colour": "colour", "颜色": "colour", "size": "size", "storage": "storage"}
_BRAND_KEYS = ("brand", "品牌", "pa_brand")


def products(body: str | bytes | list) -> list[dict]:
    data = to_json(body)
    return [p for p in data if isinstance(p, dict)] if isinstance(data, list) else []


def minor_units(value: Any, minor_unit: Any) -> Decimal | None:
    """``"599900"``, 2 → ``Decimal("5999.00")``; ``None`` for missing/unreadable values."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        units = int(str(value).strip())
        exponent = int(minor_unit) if minor_unit is not None else 2
    except (ValueError, TypeError, InvalidOperation):
        return None
    return Decimal(units).scaleb(-exponent) if units >= 0 else None


def extract_offers(body: str | bytes | list, url: str, marketplace: Marketplace) -> list[Offer]:
    return [_offer(p, marketplace) for p in products(body) if p.get("id") is not None]


def _offer(product: dict, m: Marketplace) -> Offer:
    prices = product.get("prices") or {}
    unit = prices.get("currency_minor_unit", 2)
    price = minor_units(prices.get("price"), unit)
    regular = minor_units(prices.get("regular_price"), unit)
    list_price = regular if regular is not None and price is not None and regular > price else None
    attributes, brand = _attributes(product.get("attributes") or [])
    brands = product.get("brands") or []
    if brands and isinstance(brands[0], dict):
        brand = clean(brands[0].get("name")) or brand
    categories = [clean(c.get("name")) for c in product.get("categories") or [] if isinstance(c, dict)]
    images = [i.get("src") for i in product.get("images") or [] if isinstance(i, dict) and i.get("src")]
    return Offer(
        marketplace=m.name,
        listing_id=str(product["id"]),
        url=clean(product.get("permalink")) or m.url(f"?p={product['id']}"),
        title=clean(product.get("name")) or "",
        brand=brand,
        gtin=gtin(product.get("gtin") or product.get("global_unique_id")),
        sku=clean(product.get("sku")),
        category=next((c for c in categories if c), None),
        attributes=attributes,
        # raw texts only beside a parsed value: minor units must never reach PricePipeline's text parser
        price=price,
        price_raw=None if price is None else str(prices["price"]),
        list_price=list_price,
        list_price_raw=None if list_price is None else str(prices["regular_price"]),
        currency=clean(prices.get("currency_code")) or m.currency,
        shipping=m.default_shipping,
        in_stock=product.get("is_in_stock") if isinstance(product.get("is_in_stock"), bool) else None,
        image=images[0] if images else None,
    )


def _attributes(items: list[Any]) -> tuple[dict[str, str], str | None]:
    """Single-valued attributes (a product's own colour/size), and the brand if it is an attribute."""
    out: dict[str, str] = {}
    brand = None
    for attr in items:
        if not isinstance(attr, dict):
            continue
        name = clean(attr.get("name")) or clean(attr.get("taxonomy")) or ""
        names = [clean(t.get("name")) for t in attr.get("terms") or [] if isinstance(t, dict)]
        terms = [t for t in names if t]
        if len(terms) != 1 or not name:
            continue
        key = name.lower()
        if key in _BRAND_KEYS:
            brand = terms[0]
        else:
            out[_ATTR_KEYS.get(key, key)] = terms[0]
    return out, brand
