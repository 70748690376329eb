"""A product page read the way a shopper reads it: the markup (``schema_org``) weighed against the visible
page (``visible``, ``buybox``, ``page_facts``).

Where the two disagree, what the shopper sees wins: a sale price in the buy box beats the regular price
in the JSON-LD (which becomes the list price when the page strikes it through), a currency symbol on
the page beats another currency in the markup. Each such override is listed in
``ProductPage.disagreements`` (the spider counts them per shop). A page without markup still gives an
offer when its heading and buy-box price can be read.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from core.encoding import to_text
from core.offer import Offer
from core.prices import parse_shipping
from core.values import domain_currency, locale_currency
from crawler.config import Marketplace
from spiders.pages._common import clean, url_path
from spiders.pages.buybox import PriceSeen, choose, heading, price_candidates, rank
from spiders.pages.page_facts import PageFacts, read_facts
from spiders.pages.schema_org import Structured, read_structured
from spiders.pages.schema_org import product_name as _name_of
from spiders.pages.visible import Seen, full_text, hidden_classes, parse_tree, visible_text, walk

CONFIDENT = 4.0
"""Score a buy-box price needs to be taken without markup, or to override a markup price it contradicts."""
SURE = 6.0
"""Score a buy-box price needs to override a markup price that the page does not show at all."""


@dataclass
class Summary:
    """The product of the page in one line: what a shopper would note down."""

    title: str | None = None
    price: Decimal | None = None
    list_price: Decimal | None = None
    currency: str | None = None
    in_stock: bool | None = None
    sku: str | None = None
    gtin: str | None = None
    mpn: str | None = None


@dataclass
class ProductPage:
    offers: list[Offer]
    summary: Summary
    disagreements: list[str] = field(default_factory=list)
    """Fields where the visible page overrode the markup (``price``, ``currency``, ``availability``…)."""
    marked_up: bool = True
    """The offers come from schema.org/OpenGraph markup (``False``: read from the visible page alone)."""
    single_product: bool = True
    """The markup describes at most one product (a ProductGroup's variants count as one)."""


@dataclass
class _Visible:
    title: Seen | None
    price: PriceSeen | None
    list_price: PriceSeen | None
    candidates: list[PriceSeen]
    facts: PageFacts
    title_text: str | None


def read_product_page(
    body: str | bytes, url: str, m: Marketplace, content_type: str | None = None
) -> ProductPage:
    """The offers of a product page, reconciled with what it shows, and the disagreements found."""
    text = to_text(body, content_type)
    tree = parse_tree(text)
    structured = read_structured(tree, text, url, m)
    hint = page_currency_hint(tree, url, m, structured)
    visible = _read_visible(tree, structured, hint)
    names = {(_name_of(p) or "").lower() for p in structured.products}
    page = ProductPage(structured.offers, Summary(), single_product=len(names) <= 1)
    if not page.offers:
        offer = _visible_offer(visible, tree, url, m, hint)
        page.offers, page.marked_up = ([offer] if offer is not None else []), False
    else:
        page.disagreements = _reconcile(page.offers, visible, structured, hint)
    for offer in page.offers:
        _complete(offer, visible, structured, tree, m, hint)
    page.summary = _summary(page.offers, structured, visible)
    if page.summary.sku is None:
        page.summary.sku = url_id(url, tree)
    return page


_URL_TOKEN = re.compile(r"[A-Za-z0-9]{5,30}")


def url_id(url: str, tree: HtmlElement) -> str | None:
    """An id in the page's URL (``/itm/302474151804``, ``?pid=260591``, ``/M67296549.htm``) that the
    page also shows as a word: the shop's own id for the product."""
    parts = urlsplit(url)
    tokens = [t for t in _URL_TOKEN.findall(f"{parts.path} {parts.query}") if any(c.isdigit() for c in t)]
    if not tokens:
        return None
    body = tree.find("body")
    words = set(
        re.findall(r"[A-Za-z0-9]+", visible_text(body if body is not None else tree, frozenset(), 300_000))
    )
    return next((t for t in reversed(tokens) if t in words), None)


def _read_visible(tree: HtmlElement, structured: Structured, hint: str | None) -> _Visible:
    page_hidden = hidden_classes(tree)
    seen = list(walk(tree, page_hidden))
    names = structured.names or [_doc_title(tree)]
    title = heading(seen, names)
    known = {o.price for o in structured.offers if o.price is not None}
    ranked = rank(price_candidates(seen, page_hidden, hint), title, known)
    price, list_price = choose(ranked, CONFIDENT)
    anchor = price.position if price is not None else title.position if title is not None else None
    facts = read_facts(seen, page_hidden, anchor)
    title_text = visible_text(title.element, page_hidden, 400) if title is not None else None
    return _Visible(title, price, list_price, ranked, facts, title_text)


def page_currency_hint(
    tree: HtmlElement, url: str, m: Marketplace, structured: Structured | None = None
) -> str | None:
    """The currency a bare or ambiguous price on the page is in: the markup's, else the shop's configured
    one, else the page's locale (``<html lang>``, ``og:locale``), else its country domain, else the
    shop's default."""
    for offer in structured.offers if structured else []:
        if offer.currency:
            return offer.currency
    if "currency" in m.model_fields_set:
        return m.currency
    return _local_currency(tree, url, structured) or m.currency


def _local_currency(tree: HtmlElement, url: str, structured: Structured | None) -> str | None:
    og_locale = structured.opengraph.get("og:locale") if structured else None
    for locale in (tree.get("lang"), tree.get("xml:lang"), og_locale):
        if currency := locale_currency(locale):
            return currency
    return domain_currency(urlsplit(url).hostname)


def page_currency(body: str | bytes, url: str, content_type: str | None = None) -> str | None:
    """The currency a shop's page shows its prices in (for ``marketplaces add``): the markup's
    ``priceCurrency``, else the currency of most prices the page shows with a sign (``$`` settled by
    the locale), else the page's locale or country domain; ``None`` when nothing tells."""
    text = to_text(body, content_type)
    tree = parse_tree(text)
    structured = read_structured(tree, text, url, Marketplace(name="probe", shape="jsonld", base_url=url))
    marked = [o.currency for o in structured.offers if o.currency]
    if marked:
        return Counter(marked).most_common(1)[0][0]
    local = _local_currency(tree, url, structured)
    page_hidden = hidden_classes(tree)
    shown = [
        c.currency for c in price_candidates(list(walk(tree, page_hidden)), page_hidden, local) if c.symbol
    ]
    return Counter(c for c in shown if c).most_common(1)[0][0] if any(shown) else local


def _reconcile(offers: list[Offer], visible: _Visible, structured: Structured, hint: str | None) -> list[str]:
    """Let the visible buy box correct the markup's offers; the names of the fields it corrected."""
    shown = visible.price
    if shown is None:
        return []
    changed: list[str] = []
    for offer in offers:
        if offer.price is None:  # markup without a price (or hidden): the buy box's
            offer.price, offer.price_raw = shown.amount, shown.text
            offer.currency = offer.currency or shown.currency
    prices = {o.price for o in offers if o.price is not None}
    if prices and shown.amount not in prices and len(prices) == 1:
        marked = next(iter(prices))
        struck = any(c.struck and c.amount == marked for c in visible.candidates)
        elsewhere = any(c.amount == marked for c in visible.candidates)
        if (struck and shown.amount < marked) or (not elsewhere and shown.score >= SURE):
            for offer in offers:
                offer.list_price = marked if marked > shown.amount else offer.list_price
                offer.list_price_raw = offer.price_raw if marked > shown.amount else offer.list_price_raw
                offer.price, offer.price_raw = shown.amount, shown.text
            changed.append("price")
    other_currency = any(o.currency and o.currency != shown.currency for o in offers)
    if shown.currency and shown.symbol and other_currency and shown.amount in {o.price for o in offers}:
        for offer in offers:
            offer.currency = shown.currency
        changed.append("currency")
    return changed


def _visible_offer(
    visible: _Visible, tree: HtmlElement, url: str, m: Marketplace, hint: str | None
) -> Offer | None:
    """The offer of a page without markup: its heading and buy-box price (both needed)."""
    shown = visible.price
    title = visible.title_text
    if shown is None or not title:
        return None
    ids = visible.facts.identifiers
    return Offer(
        marketplace=m.name,
        listing_id=ids.get("sku") or url_path(url),
        url=url,
        title=title,
        sku=ids.get("sku"),
        price=shown.amount,
        price_raw=shown.text,
        currency=shown.currency or hint,
    )


def _complete(
    offer: Offer,
    visible: _Visible,
    structured: Structured,
    tree: HtmlElement,
    m: Marketplace,
    hint: str | None,
) -> None:
    """Fill what the markup left empty from the page: title, list price, currency, availability,
    shipping, identifiers."""
    offer.title = (
        _title(offer.title, visible) or clean(structured.opengraph.get("og:title")) or _doc_title(tree)
    )
    shown, shown_list = visible.price, visible.list_price
    if (
        offer.list_price is None
        and shown_list is not None
        and shown is not None
        and offer.price == shown.amount
    ):
        offer.list_price, offer.list_price_raw = shown_list.amount, shown_list.text  # above it (choose)
    if offer.currency is None:
        offer.currency = (shown.currency if shown else None) or hint or m.currency
    if offer.in_stock is None:
        offer.in_stock = visible.facts.in_stock
    if offer.shipping is None and visible.facts.shipping_text:
        offer.shipping = parse_shipping(visible.facts.shipping_text, offer.currency)
        offer.shipping_raw = visible.facts.shipping_text if offer.shipping is not None else None
    if offer.shipping is None:
        offer.shipping = m.default_shipping
    ids = visible.facts.identifiers
    offer.gtin = offer.gtin or ids.get("gtin")
    offer.mpn = offer.mpn or ids.get("mpn")


def _title(marked: str, visible: _Visible) -> str:
    """The markup's name, unless it is the heading's text with hidden words in it ("Details about …"),
    or missing: then the heading as a shopper reads it."""
    if visible.title is None or not visible.title_text:
        return marked
    leaked = marked == full_text(visible.title.element) != visible.title_text
    return visible.title_text if not marked or leaked else marked


def _doc_title(tree: HtmlElement) -> str:
    return clean(tree.findtext(".//title")) or ""


def _summary(offers: list[Offer], structured: Structured, visible: _Visible) -> Summary:
    """The page's product in one line: the offer the buy box shows (else the first), in stock when any
    offer is, the Product's own SKU before a variant's."""
    if not offers:
        ids = visible.facts.identifiers
        return Summary(
            visible.title_text, in_stock=visible.facts.in_stock, sku=ids.get("sku"), gtin=ids.get("gtin")
        )
    shown = visible.price.amount if visible.price is not None else None
    main = next((o for o in offers if o.price == shown), offers[0])
    price = main.price if main.price is not None and main.price > 0 else None  # 0: "price on request"
    stock = [o.in_stock for o in offers if o.in_stock is not None]
    product_sku = next((clean(p.get("sku")) for p in structured.products if clean(p.get("sku"))), None)
    return Summary(
        title=main.title,
        price=price,
        list_price=main.list_price,
        currency=main.currency,
        in_stock=any(stock) if stock else None,
        sku=visible.facts.identifiers.get("sku") or product_sku or main.sku,
        gtin=main.gtin,
        mpn=main.mpn,
    )
