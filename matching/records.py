"""The matcher's input: one offer reduced to what matching needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class OfferRecord:
    key: str
    """``marketplace/listing_id`` — unique across marketplaces."""
    marketplace: str
    title: str
    brand: str | None = None
    gtin: str | None = None
    mpn: str | None = None
    attributes: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    """Variant attributes the shop states apart from the title (``colour``, ``storage``, ``size``…)."""
    price: float | None = None
    """Landed or listed price; only a weak signal (shops differ in price)."""
    category: str | None = None
    description: str | None = None
    """Optional free text; identifiers found in it are a weaker signal than those in the title."""

    @classmethod
    def from_offer(cls, offer: Any) -> OfferRecord:
        """Build from a ``core.offer.Offer`` (or anything with the same attribute names)."""
        landed = getattr(offer, "landed_price", None)
        price = landed if landed is not None else getattr(offer, "price", None)
        return cls(
            key=f"{offer.marketplace}/{offer.listing_id}",
            marketplace=offer.marketplace,
            title=offer.title or "",
            brand=offer.brand,
            gtin=offer.gtin,
            mpn=offer.mpn,
            attributes=dict(offer.attributes or {}),
            price=float(price) if price is not None else None,
            category=offer.category,
        )
