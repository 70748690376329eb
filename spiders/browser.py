"""``browser`` shape: a listing that exists only after JavaScript runs — a preset of the field-map engine.

The preset map reads the demo's markup (``docs/ARCHITECTURE.md``): items ``[data-offer]`` (the
``browser.item_selector``), ``.title``, ``.shop``, ``.price``, ``.coupon-price``, ``.shipping``,
``.delivery``, ``.stock``, and clicks ``browser.load_more_selector`` until it is gone (at most
``browser.max_load_more`` times). ``[marketplace.map]`` fields replace the preset's one by one, so a shop
with other class names needs only the fields that differ.
"""

from __future__ import annotations

from crawler.fieldmap_config import FieldMap
from spiders.fieldmap import FieldMapSpider
from spiders.pages.browser_listing import extract_offers, preset_map
from spiders.pages.fieldmap import merge_maps
from spiders.shape import Shape


class BrowserSpider(FieldMapSpider):
    name = "browser"
    shape = "browser"

    def field_map(self) -> FieldMap:
        return merge_maps(preset_map(self.marketplace), self.marketplace.map)


SHAPE = Shape("browser", BrowserSpider, extract_offers)
