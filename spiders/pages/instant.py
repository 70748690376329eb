"""Instant retail (即时零售, shandian): stores, then each store's products; one offer per (product, store).

The products are read with the shape's preset field map (``spiders.instant.preset_map``):
``listing_id`` is ``<product id>@<store id>``; shipping is the store's delivery fee and delivery hours
its delivery minutes / 60.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from core.offer import Offer
from core.values import money
from crawler.config import Marketplace
from crawler.fieldmap_config import Each, FieldMap, FieldRule, Pagination
from spiders.pages._common import clean, to_json
from spiders.pages.fieldmap import Document, preset_plan


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


PAGE_SIZE = 100


def preset_map(m: Marketplace) -> FieldMap:
    return FieldMap(
        format="json",
        each=Each(url="api/stores", items="stores", listing="api/stores/{id}/products"),
        items="items",
        fields={
            "listing_id": FieldRule(template="{id}@{$each.id}"),
            "url": FieldRule(template="store/{$each.id}/product/{id}"),
            "title": "title",
            "brand": "brand",
            "gtin": "barcode",
            "price": "price",
            "final_price": "promo_price",
            "shipping": "$each.delivery_fee",
            "in_stock": "stock",
            "seller": FieldRule(const=m.display_name),
            "store": "$each.name",
            "distance_km": "$each.distance_km",
            "delivery": FieldRule(path="$each.delivery_minutes", processor="minutes"),
            "latitude": ["$each.lat", "$each.latitude"],  # the API's keys, or the Store's
            "longitude": ["$each.lng", "$each.longitude"],
            "delivery_radius_km": "$each.delivery_radius_km",
            "promotions": ["promotions", "$each.promotions"],  # the item's own, then the store's
        },
        attributes={"spec": "spec"},
        pagination=Pagination(kind="page", size=PAGE_SIZE, size_param="size", total_pages="total_pages"),
    )


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
    """One store's products page, read with the shape's preset field map (``spiders.instant``)."""
    plan = preset_plan(preset_map, marketplace)
    data = to_json(body)
    return plan.offers(Document(data, url), each=asdict(store))


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
