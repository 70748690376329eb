"""Instant retail (即时零售, shandian): stores, then each store's products; one offer per (product, store).

``listing_id`` is ``<product id>@<store id>``; shipping is the store's delivery fee and delivery
hours its delivery minutes / 60.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from core.offer import Offer
from core.values import gtin, money
from crawler.config import Marketplace
from spiders.pages._common import clean, to_json


@dataclass(frozen=True)
class Store:
    id: str
    name: str
    distance_km: float | None = None
    delivery_minutes: float | None = None
    delivery_fee: Decimal | None = None
    latitude: float | None = None
    longitude: float | None = None
    delivery_radius_km: float | None = None
    promotions: list[str] = field(default_factory=list)
    """The store's own promotion texts (a list: it travels as JSON between distributed crawlers)."""


def extract_stores(body: str | bytes | dict) -> list[Store]:
    data = to_json(body)
    stores = data.get("stores") if isinstance(data, dict) else None
    out = []
    for s in stores or []:
        if not isinstance(s, dict) or s.get("id") is None:
            continue
        out.append(
            Store(
                id=str(s["id"]),
                name=clean(s.get("name")) or str(s["id"]),
                distance_km=_float(s.get("distance_km")),
                delivery_minutes=_float(s.get("delivery_minutes")),
                delivery_fee=money(s.get("delivery_fee")),
                latitude=_float(s.get("lat", s.get("latitude"))),
                longitude=_float(s.get("lng", s.get("longitude"))),
                delivery_radius_km=_float(s.get("delivery_radius_km")),
                promotions=_texts(s.get("promotions")),
            )
        )
    return out


def total_pages(body: str | bytes | dict) -> int | None:
    data = to_json(body)
    value = data.get("total_pages") if isinstance(data, dict) else None
    return int(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else None


def extract_offers(body: str | bytes | dict, url: str, marketplace: Marketplace, store: Store) -> list[Offer]:
    data = to_json(body)
    items = data.get("items") if isinstance(data, dict) else None
    return [
        _offer(p, marketplace, store) for p in items or [] if isinstance(p, dict) and p.get("id") is not None
    ]


def _offer(product: dict, m: Marketplace, store: Store) -> Offer:
    price, promo = money(product.get("price")), money(product.get("promo_price"))
    discounted = promo is not None and price is not None and promo < price
    stock = product.get("stock")
    qty = int(stock) if isinstance(stock, int | Decimal) and not isinstance(stock, bool) else None
    spec = clean(product.get("spec"))
    return Offer(
        marketplace=m.name,
        listing_id=f"{product['id']}@{store.id}",
        url=m.url(f"store/{store.id}/product/{product['id']}"),
        title=clean(product.get("title")) or "",
        brand=clean(product.get("brand")),
        gtin=gtin(product.get("barcode")),
        attributes={"spec": spec} if spec else {},
        price=price,
        price_raw=None if product.get("price") is None else str(product["price"]),
        final_price=promo if discounted else None,
        final_price_raw=str(product["promo_price"]) if discounted else None,
        shipping=store.delivery_fee if store.delivery_fee is not None else m.default_shipping,
        currency=m.currency,
        in_stock=None if qty is None else qty > 0,
        stock_qty=qty,
        seller=m.display_name,
        store=store.name,
        distance_km=store.distance_km,
        delivery_hours=None if store.delivery_minutes is None else round(store.delivery_minutes / 60, 4),
        delivery_raw=None if store.delivery_minutes is None else f"{store.delivery_minutes:g}分钟",
        latitude=store.latitude,
        longitude=store.longitude,
        delivery_radius_km=store.delivery_radius_km,
        promotions=list(dict.fromkeys([*_texts(product.get("promotions")), *store.promotions])),
    )


def _float(value: object) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _texts(value: object) -> list[str]:
    """A list of promotion texts (anything else: none)."""
    if not isinstance(value, list):
        return []
    return [text for v in value if isinstance(v, str) and (text := clean(v))]
