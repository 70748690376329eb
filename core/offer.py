"""The one item bijia crawls: an ``Offer`` — one listing of one product variant on one marketplace.

Money is ``Decimal`` (never float). Each parsed money field keeps the raw text seen on the page beside it
(``*_raw``), so a wrong parse can be traced. Extractors fill what the page gives; ``PricePipeline`` parses
any ``*_raw`` whose parsed twin is still ``None``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Offer:
    marketplace: str
    """Marketplace name from the marketplaces file (e.g. ``techmall``)."""
    listing_id: str
    """The shop's own id for this listing (variant id, SKU or URL slug); unique within the marketplace.
    Instant-retail offers are per store: ``<product id>@<store id>``."""
    url: str
    """Canonical page URL a shopper can open."""
    title: str
    """Title as the shop shows it, whitespace-collapsed, not otherwise normalised."""
    brand: str | None = None
    gtin: str | None = None
    """GTIN-8/12/13/14 digits only (EAN/UPC/barcode), when the shop publishes it."""
    mpn: str | None = None
    """Manufacturer part number / model number (e.g. ``WH-1000XM5``)."""
    sku: str | None = None
    """The shop's stock keeping unit, which is *not* comparable across shops."""
    category: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    """Variant attributes the shop states separately from the title (``colour``, ``storage``, ``size``…)."""

    price: Decimal | None = None
    """Selling price per unit, tax included as shown to a consumer, before coupons, in ``currency``."""
    price_raw: str | None = None
    list_price: Decimal | None = None
    """Struck-through "was" price, if shown."""
    list_price_raw: str | None = None
    final_price: Decimal | None = None
    """Price after coupons/promotions (券后价); ``None`` when there is no coupon (then ``price`` applies)."""
    final_price_raw: str | None = None
    shipping: Decimal | None = None
    """Shipping/delivery fee for one unit; ``0`` for free shipping (包邮); ``None`` when unknown."""
    shipping_raw: str | None = None
    currency: str | None = None
    """ISO 4217 code (``CNY``, ``USD``…)."""

    in_stock: bool | None = None
    stock_qty: int | None = None
    seller: str | None = None
    store: str | None = None
    """Physical store for instant-retail offers (per-store stock)."""
    distance_km: float | None = None
    delivery_hours: float | None = None
    """Promised time to delivery in hours (30分钟达 → 0.5, 次日达 → 24)."""
    delivery_raw: str | None = None
    latitude: float | None = None
    """Where an instant-retail offer is fulfilled from (its store), WGS-84 degrees; ``None`` for an offer
    that is shipped (it arrives after ``delivery_hours`` wherever the shopper is)."""
    longitude: float | None = None
    delivery_radius_km: float | None = None
    """How far the store delivers, straight-line km; ``None`` when it states none (see ``core.geo``)."""
    promotions: list[str] = field(default_factory=list)
    """Promotion texts exactly as the shop shows them (``满300减50``, ``第二件半价``, ``跨店每满300减50``,
    ``满99包邮``); ``core.promotions`` parses them into rules."""
    image: str | None = None
    observed_at: datetime = field(default_factory=_now)

    @property
    def key(self) -> str:
        return f"{self.marketplace}/{self.listing_id}"

    @property
    def landed_price(self) -> Decimal | None:
        """What the shopper pays for one unit delivered: final (after coupon) price plus shipping."""
        base = self.final_price if self.final_price is not None else self.price
        if base is None:
            return None
        return base + (self.shipping or Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


OFFER_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Offer))
