"""The rendered listing of a ``browser`` shop (HTML after JavaScript ran): the shape's preset field map
and its extraction (the marketplace's own ``[marketplace.map]`` fields on top of the preset's).

The preset reads the demo's markup (``docs/ARCHITECTURE.md``): items ``[data-offer]`` (the
``browser.item_selector``; ``listing_id`` is that attribute), ``.title``, ``.shop``, ``.price``,
``.coupon-price``, ``.shipping``, ``.delivery``, ``.stock``, ``.promo`` (each a promotion), and clicks ``browser.load_more_selector``
until it is gone. Prices, shipping and delivery are parsed, and the texts the page shows are kept beside
them (``price_raw``, ``final_price_raw``…).
"""

from __future__ import annotations

from core.offer import Offer
from crawler.config import Marketplace
from crawler.fieldmap_config import FieldMap, FieldRule, Pagination, Render
from spiders.pages.fieldmap import preset_plan


def preset_map(m: Marketplace) -> FieldMap:
    options = m.browser
    return FieldMap(
        format="html",
        items=options.item_selector,
        fields={
            "listing_id": "@data-offer",
            "url": ["a.title::attr(href)", "a::attr(href)", FieldRule(attr="data-offer", template="item/{}")],
            "title": ".title",
            "seller": ".shop",
            "price": ".price",
            "final_price": ".coupon-price",
            "list_price": ".list-price, .original-price, del",
            "shipping": ".shipping",
            "delivery": ".delivery",
            "in_stock": ".stock",
            "image": "img::attr(src)",
            "promotions": ".promo, .promotion",
        },
        render=Render(wait_for=options.item_selector, timeout_ms=options.wait_timeout_ms),
        pagination=Pagination(
            kind="load_more",
            button=options.load_more_selector,
            max_pages=options.max_load_more + 1,
            wait_ms=options.wait_timeout_ms,
        ),
    )


def extract_offers(body: str | bytes, url: str, marketplace: Marketplace) -> list[Offer]:
    plan = preset_plan(preset_map, marketplace)
    return plan.offers(plan.document(body, url))
