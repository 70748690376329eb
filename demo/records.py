"""The demo catalogue as the matcher sees it: one ``OfferRecord`` per listing, and the truth (which listings
are one SKU). Used to measure and to train the matcher (``matching.tuning``), never by the runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from demo.catalogue import generate_catalogue
from demo.listings import Listing
from matching.records import OfferRecord

STATED_BRAND = {"techmall": "en", "shandian": "zh"}
"""Shops whose feed states the brand apart from the title (in English or Chinese)."""


def measured_shops(cat: Any) -> list[str]:
    """The demo shops the matcher is fitted and measured on: the field-map shops (issue 13) came later and
    would change every figure's data (and the shipped model, which is fitted on these records)."""
    return [shop for shop in cat.shops if shop not in getattr(cat, "field_map_shops", ())]


def listing_records(
    offers: int, seed: int, title: Callable[[Listing], str] | None = None
) -> tuple[list[OfferRecord], dict[str, str]]:
    """All listings of a demo catalogue of about ``offers`` listings, and the truth key → SKU id.
    ``title``: another way to title a listing (the shops' own titles by default)."""
    skus = max(2, offers // 5)
    for _ in range(3):
        cat = generate_catalogue(skus, seed)
        if skus >= 5000:
            break
        count = sum(1 for shop in measured_shops(cat) for _ in cat.listings(shop))
        skus = max(2, round(skus * offers / count))
    records, truth = [], {}
    for shop in measured_shops(cat):
        for x in cat.listings(shop):
            key = f"{shop}/{x.listing_id}"
            brand = x.sku.product.brand
            records.append(
                OfferRecord(
                    key=key,
                    marketplace=shop,
                    title=title(x) if title else x.title,
                    brand={"en": brand.en, "zh": brand.zh}.get(STATED_BRAND.get(shop, "")),
                    gtin=x.gtin,
                    mpn=x.mpn,
                    price=float(x.landed_price),
                )
            )
            truth[key] = x.sku.sku_id
    return records, truth
