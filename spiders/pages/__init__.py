"""Extraction page objects: plain functions from a saved page or JSON body to ``Offer``s, no network.

One module per page type; each has ``extract_offers(body, url, marketplace, ...) -> list[Offer]``.
"""

from spiders.pages import browser_listing, instant, jsonld, shopify, woocommerce

EXTRACTORS = {
    "jsonld": jsonld.extract_offers,
    "shopify": shopify.extract_offers,
    "woocommerce": woocommerce.extract_offers,
    "browser": browser_listing.extract_offers,
    "instant": instant.extract_offers,
}

__all__ = ["EXTRACTORS", "browser_listing", "instant", "jsonld", "shopify", "woocommerce"]
