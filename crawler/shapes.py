"""The marketplace shapes: the one list that the marketplaces file, the command line (``--shape``), the
spider registry (``spiders.registry``) and the probe of ``bijia marketplaces add`` all read.

Each shape ``NAME`` is served by the module ``spiders/NAME.py`` (its spider, page URLs and probe). This
module imports nothing, so ``bijia --help`` can list the shapes without loading Scrapy.
"""

from __future__ import annotations

SHAPES: dict[str, str] = {
    "jsonld": "schema.org product pages, found from category pages or sitemaps",
    "shopify": "a Shopify shop (products.json)",
    "woocommerce": "a WooCommerce shop (Store API)",
    "instant": "instant retail: stores, then each store's products (a field-map preset)",
    "browser": "a listing rendered by JavaScript in Chromium (a field-map preset)",
    "fieldmap": "any other shop, described by a field map ([marketplace.map])",
}
"""Shape name → what it is for, in the order ``marketplaces add`` probes them."""

MAP_SHAPES = ("fieldmap", "browser", "instant")
"""Shapes read by the field-map engine: ``[marketplace.map]`` is the map (fieldmap) or overrides the
preset's fields (browser, instant)."""
