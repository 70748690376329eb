"""The rendered jingxuan listing (HTML after JavaScript ran): one offer per item, with raw texts.

Prices, coupon prices, shipping and delivery stay as the page shows them (``price_raw``,
``final_price_raw``, ``shipping_raw``, ``delivery_raw``); ``PricePipeline`` parses them.
``listing_id`` is the item's ``data-offer`` attribute.
"""

from __future__ import annotations

from urllib.parse import urljoin

from parsel import Selector

from core.encoding import to_text
from core.offer import Offer
from crawler.config import Marketplace
from spiders.pages._common import clean

IN_STOCK = ("有货", "现货", "in stock")
OUT_OF_STOCK = ("无货", "缺货", "售罄", "已售完", "out of stock", "sold out")


def extract_offers(body: str | bytes, url: str, marketplace: Marketplace) -> list[Offer]:
    sel = Selector(text=to_text(body))
    offers: dict[str, Offer] = {}
    for item in sel.css(marketplace.browser.item_selector):
        offer = _item(item, url, marketplace)
        if offer is not None and offer.listing_id not in offers:
            offers[offer.listing_id] = offer
    return list(offers.values())


def _text(item: Selector, css: str) -> str | None:
    return clean(" ".join(item.css(f"{css} ::text").getall()))


def _texts(item: Selector, css: str) -> list[str]:
    """Each matching element's text (promotion tags: one text per element), in order, once each."""
    texts = (clean(" ".join(el.css("::text").getall())) for el in item.css(css))
    return list(dict.fromkeys(t for t in texts if t))


def _item(item: Selector, url: str, m: Marketplace) -> Offer | None:
    listing_id = clean(item.attrib.get("data-offer"))
    if not listing_id:
        return None
    href = item.css("a.title::attr(href)").get() or item.css("a::attr(href)").get()
    return Offer(
        marketplace=m.name,
        listing_id=listing_id,
        url=urljoin(url, href.strip()) if href else urljoin(url, f"item/{listing_id}"),
        title=_text(item, ".title") or "",
        seller=_text(item, ".shop"),
        price_raw=_text(item, ".price"),
        final_price_raw=_text(item, ".coupon-price"),
        list_price_raw=_text(item, ".list-price, .original-price, del"),
        shipping_raw=_text(item, ".shipping"),
        delivery_raw=_text(item, ".delivery"),
        in_stock=_stock(_text(item, ".stock")),
        currency=m.currency,
        image=item.css("img::attr(src)").get(),
        promotions=_texts(item, ".promo, .promotion"),
    )


def _stock(text: str | None) -> bool | None:
    if not text:
        return None
    folded = text.lower()
    if any(word in folded for word in OUT_OF_STOCK):
        return False
    if any(word in folded for word in IN_STOCK):
        return True
    return None
