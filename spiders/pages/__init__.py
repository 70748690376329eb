"""Extraction page objects: plain functions from a saved page or JSON body to ``Offer``s, no network.

One module per page type; each has ``extract_offers(body, url, marketplace, ...) -> list[Offer]``.
``spiders.EXTRACTORS`` maps each shape to its extractor.
"""
