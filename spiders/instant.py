"""``instant`` shape (即时零售): ``api/stores``, then each store's ``api/stores/<id>/products?page=N&size=M``
— a preset of the field-map engine.

One offer per (product, store): ``listing_id`` is ``<product id>@<store id>``; shipping is the store's
``delivery_fee``, delivery its ``delivery_minutes``, the store its name. Page 1 of each store tells
``total_pages``; pages 2…total (bounded by ``max_pages``) follow. ``[marketplace.map]`` fields (JMESPath)
replace the preset's one by one.
"""

from __future__ import annotations

from crawler.fieldmap_config import FieldMap
from spiders.fieldmap import FieldMapSpider
from spiders.pages.fieldmap import merge_maps
from spiders.pages.instant import extract_offers, preset_map
from spiders.shape import Fetched, Found, Get, Shape


class InstantSpider(FieldMapSpider):
    name = "instant"
    shape = "instant"

    def field_map(self) -> FieldMap:
        return merge_maps(preset_map(self.marketplace), self.marketplace.map)


def probe(url: str, base: str, get: Get) -> Found | None:
    stores: Fetched = get(base + "api/stores")
    data = stores.json() if stores.ok else None
    if isinstance(data, dict) and isinstance(data.get("stores"), list):
        return Found("instant", ["api/stores lists stores (instant retail)"])
    return None


SHAPE = Shape("instant", InstantSpider, extract_offers, probe)
