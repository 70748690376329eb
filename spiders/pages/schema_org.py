"""Structured data of a product page: schema.org Product/ProductGroup from JSON-LD, microdata and RDFa
(through extruct, on a tree parsed once), and OpenGraph ``product:`` tags.

``listing_id`` is the offer's (else the Product's) ``sku``, else the page URL path. ``@type`` names are
compared case-insensitively (``"product"`` is a Product). What the visible page says is weighed
against these offers in ``spiders.pages.product_page``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement

from core.offer import Offer
from core.prices import currency_code, parse_price
from core.values import availability, gtin, money, structured_price
from crawler.config import Marketplace
from spiders.pages._common import clean, url_path

SCHEMA = ("http://schema.org/", "https://schema.org/")
PRODUCT_TYPES = {"product", "productgroup", "productmodel", "individualproduct", "vehicle", "car"}
CONTAINERS = ("mainEntity", "mainEntityOfPage", "itemListElement", "item", "about")
_GTIN_KEYS = {"gtin14": 14, "gtin13": 13, "gtin12": 12, "gtin8": 8, "gtin": None, "isbn": None}
_LIST_PRICE_TYPES = {"listprice", "strikethroughprice", "msrp", "srp", "invoiceprice"}
_AGGREGATE_INHERITS = ("priceCurrency", "availability", "seller", "offeredBy", "shippingDetails", "url")
_UNIT_HOURS = {"DAY": 24.0, "D": 24.0, "HUR": 1.0, "H": 1.0, "MIN": 1 / 60, "WEE": 168.0, "WK": 168.0}
_ATTRIBUTES = {"color": "colour", "size": "size", "material": "material", "pattern": "pattern"}


_RDFA = re.compile(r"\btypeof\s*=", re.IGNORECASE)


@dataclass
class Structured:
    """What a page's markup says: its offers and the Product nodes and OpenGraph tags they came from."""

    offers: list[Offer] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    opengraph: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Titles the markup gives (Product names, then ``og:title``)."""
        names = [product_name(p) for p in self.products]
        return [n for n in (*names, clean(self.opengraph.get("og:title"))) if n]


def read_structured(tree: HtmlElement, text: str, url: str, m: Marketplace) -> Structured:
    """Every offer of every Product the markup of the page (``tree``, parsed from ``text``) lists."""
    import extruct  # heavy (rdflib): loaded with the first page

    data = extruct.extract(
        tree, base_url=url, syntaxes=["json-ld", "microdata", "opengraph"], uniform=True, errors="ignore"
    )
    rdfa = []
    if _RDFA.search(text):  # RDFa is slow to read (rdflib): only where some element declares a type
        rdfa = extruct.extract(text, base_url=url, syntaxes=["rdfa"], errors="ignore").get("rdfa", [])
    nodes = _link([*data.get("json-ld", []), *data.get("microdata", []), *_rdfa_nodes(rdfa)])
    opengraph: dict[str, Any] = {}
    for og in data.get("opengraph", []):
        opengraph.update({k: v for k, v in og.items() if k not in opengraph})
    products = _products(nodes)
    # Products without offers are usually related/referenced items; keep them only if nothing else.
    products = [p for p in products if p.get("offers") or p.get("hasVariant")] or [
        p for p in products if _name(p.get("name"))
    ]
    offers = _page_offers(products, url, m)
    og_offer = _opengraph_offer(opengraph, url, m)
    if not offers and og_offer is not None:
        offers = [og_offer]
    _fill_from(offers, og_offer, opengraph)
    return Structured(offers, products, opengraph)


def product_name(product: dict) -> str | None:
    return _name(product.get("name"))


def _page_offers(products: list[dict], url: str, m: Marketplace) -> list[Offer]:
    offers: dict[str, Offer] = {}
    seen: set[tuple] = set()
    repeats: dict[str, int] = {}
    for product in products:
        for offer in _product_offers(product, url, m):
            identity = _identity(offer)
            if identity in seen:  # the same offer again in another syntax (JSON-LD and microdata)
                continue
            seen.add(identity)
            key = offer.listing_id
            n = repeats.get(key, 1)
            while offer.listing_id in offers:  # the same SKU sold by several sellers on one page
                n += 1
                offer.listing_id = f"{key}#{n}"
            repeats[key] = n
            offers[offer.listing_id] = offer
    found = list(offers.values())
    priced = [o for o in found if o.price is not None]
    if priced and len(priced) < len(found):  # a price-less copy of a priced product (another syntax)
        found = [o for o in found if o.price is not None or not _same_product(o, priced)]
    return found


def _same_product(offer: Offer, others: list[Offer]) -> bool:
    return any(
        o.title == offer.title or (offer.sku is not None and o.sku == offer.sku) or not offer.sku
        for o in others
    )


def _fill_from(offers: list[Offer], og_offer: Offer | None, og: dict[str, Any]) -> None:
    """OpenGraph fills what the schema.org offers leave empty (price and currency, availability)."""
    in_stock = availability(og.get("product:availability") or og.get("og:availability"))
    for offer in offers:
        if offer.price is None and og_offer is not None and og_offer.price is not None:
            offer.price, offer.price_raw, offer.currency = (
                og_offer.price,
                og_offer.price_raw,
                og_offer.currency,
            )
        if offer.in_stock is None:
            offer.in_stock = in_stock


# --- finding products -------------------------------------------------------------------------------


def _type(node: Any) -> set[str]:
    """The node's ``@type`` names, lower-cased, without a vocabulary prefix (``schema:Product`` → product)."""
    if not isinstance(node, dict):
        return set()
    types = node.get("@type") or []
    types = types if isinstance(types, list) else [types]
    return {
        str(t).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].rsplit(":", 1)[-1].lower() for t in types
    }


def _link(nodes: list[Any]) -> list[Any]:
    """Replace ``{"@id": …}`` references by the node with that ``@id`` (in place; cycles are fine)."""
    by_id: dict[str, dict] = {}
    stack: list[Any] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if isinstance(node.get("@id"), str) and len(node) > 1:
                by_id.setdefault(node["@id"], node)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and set(value) <= {"@id", "@type"} and value.get("@id") in by_id:
            return by_id[value["@id"]]
        return value

    seen: set[int] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, list):
            node[:] = [resolve(v) for v in node]
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                node[key] = resolve(value)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
    return nodes


def _products(nodes: list[Any]) -> list[dict]:
    """Products at the top level, in ``@graph`` or in page containers (not related/referenced ones).

    A variant listed both on its own and in its ProductGroup's ``hasVariant`` counts once (as a variant).
    """
    found: list[dict] = []
    stack = list(nodes)
    while stack:
        node = stack.pop(0)
        if isinstance(node, list):
            stack[:0] = node
            continue
        if not isinstance(node, dict):
            continue
        if _type(node) & PRODUCT_TYPES:
            found.append(node)
            continue
        stack.extend(node.get(k) for k in ("@graph", *CONTAINERS) if node.get(k))
    variants = {id(v) for p in found if "productgroup" in _type(p) for v in _as_list(p.get("hasVariant"))}
    return [p for p in found if id(p) not in variants]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _first(value: Any) -> Any:
    while isinstance(value, list):
        value = value[0] if value else None
    return value


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("name") or value.get("legalName")
    return clean(_first(value))


def _image(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return clean(_first(value))


# --- products and offers ----------------------------------------------------------------------------


def _product_offers(product: dict, page_url: str, m: Marketplace, group: dict | None = None) -> list[Offer]:
    variants = [v for v in _as_list(product.get("hasVariant")) if isinstance(v, dict) and _type(v)]
    if "productgroup" in _type(product) and variants:
        return [o for v in variants for o in _product_offers(v, page_url, m, product)]
    parent = _first(product.get("isVariantOf"))
    if group is None and isinstance(parent, dict) and _type(parent) & PRODUCT_TYPES:
        group = parent
    offer_nodes = _offer_nodes(product.get("offers"))
    return [_offer(product, node, page_url, m, group or {}) for node in offer_nodes or [{}]]


def _offer_nodes(value: Any) -> list[dict]:
    """Offers, with an AggregateOffer replaced by its own ``offers`` when it lists them."""
    out: list[dict] = []
    for node in value if isinstance(value, list) else [value]:
        if not isinstance(node, dict):
            continue
        if "aggregateoffer" in _type(node) and node.get("offers"):
            inherited = {k: node[k] for k in _AGGREGATE_INHERITS if node.get(k) is not None}
            out.extend({**inherited, **child} for child in _offer_nodes(node["offers"]))
        else:
            out.append(node)
    return out


def _offer(product: dict, node: dict, page_url: str, m: Marketplace, group: dict) -> Offer:
    def pick(key: str) -> Any:
        return _first(node.get(key)) or _first(product.get(key)) or _first(group.get(key))

    price_raw, price, list_raw, list_price, currency = _prices(node)
    shipping, delivery_hours, delivery_raw = _shipping(
        node.get("shippingDetails") or product.get("shippingDetails")
    )
    sku = clean(pick("sku"))
    link = clean(_first(node.get("url"))) or clean(_first(product.get("url"))) or page_url
    return Offer(
        marketplace=m.name,
        listing_id=sku or url_path(page_url),
        url=urljoin(page_url, link),
        title=_name(product.get("name")) or _name(group.get("name")) or "",
        brand=_name(pick("brand")) or _name(pick("manufacturer")),
        gtin=next((g for k, n in _GTIN_KEYS.items() if (g := gtin(pick(k), n))), None),
        mpn=clean(pick("mpn")),
        sku=sku,
        category=_name(pick("category")),
        attributes=_attributes(product, group),
        price=price,
        price_raw=price_raw,
        list_price=list_price,
        list_price_raw=None if list_price is None else list_raw,
        currency=currency,
        shipping=shipping if shipping is not None else m.default_shipping,
        in_stock=_in_stock(node),
        seller=_name(node.get("seller")) or _name(node.get("offeredBy")),
        delivery_hours=delivery_hours,
        delivery_raw=delivery_raw,
        image=_image(product.get("image")) or _image(group.get("image")),
    )


def _prices(node: dict) -> tuple[str | None, Decimal | None, str | None, Decimal | None, str | None]:
    """(price as written, price, list price as written, list price, currency) from an Offer/AggregateOffer.

    ``price``, else an AggregateOffer's ``lowPrice`` (a "from" price), else the selling price of a
    ``priceSpecification``; a ListPrice/StrikethroughPrice specification is the list price. Unit prices
    (a ``referenceQuantity`` other than one unit, e.g. per 100 g) are never the price.
    """
    raw = _first(node.get("price"))
    if raw is None:
        raw = _first(node.get("lowPrice"))
    currency = _currency(node.get("priceCurrency"))
    list_raw = None
    for spec in _as_list(node.get("priceSpecification")):
        if not isinstance(spec, dict) or _unit_price(spec):
            continue
        kind = str(_first(spec.get("priceType")) or "").rsplit("/", 1)[-1].lower()
        value = _first(spec.get("price"))
        value = _first(spec.get("minPrice")) if value is None else value
        if kind in _LIST_PRICE_TYPES:
            list_raw = value
        elif raw is None:
            raw = value
        currency = currency or _currency(spec.get("priceCurrency"))
    if currency is None and isinstance(raw, str) and not raw.strip().replace(".", "", 1).isdigit():
        currency = parse_price(raw).currency  # "¥1,299.00" written in the price itself
    price = structured_price(raw, currency)
    list_price = structured_price(list_raw, currency)
    if list_price is not None and price is not None and list_price <= price:
        list_price = None
    return _raw(raw), price, _raw(list_raw), list_price, currency


def _raw(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _currency(value: Any) -> str | None:
    """``CNY`` as given; ``RMB``/``¥``/``元`` written where the ISO code belongs → ``CNY``."""
    text = clean(_first(value))
    if text is None or (len(text) == 3 and text.isalpha() and text.isupper()):
        return text if text != "RMB" else "CNY"
    return currency_code(text) or text


def _unit_price(spec: dict) -> bool:
    quantity = _first(spec.get("referenceQuantity"))
    if not isinstance(quantity, dict):
        return False
    return money(_first(quantity.get("value"))) not in (None, Decimal(1))


def _in_stock(node: dict) -> bool | None:
    known = availability(node.get("availability"))
    if known is None and "aggregateoffer" in _type(node) and str(_first(node.get("offerCount"))) == "0":
        return False  # an AggregateOffer of no offers
    return known


def _shipping(details: Any) -> tuple[Decimal | None, float | None, str | None]:
    """(fee, delivery hours, delivery text) from the first ``shippingDetails`` (OfferShippingDetails)
    that ships (``doesNotShip`` ones are skipped); free shipping is a rate of 0."""
    detail = next(
        (
            d
            for d in _as_list(details)
            if isinstance(d, dict) and str(_first(d.get("doesNotShip"))).lower() not in ("true", "1")
        ),
        None,
    )
    if not isinstance(detail, dict):
        return None, None, None
    rate = _first(detail.get("shippingRate"))
    fee = money(_first(rate.get("value") if isinstance(rate, dict) else rate))
    if isinstance(rate, dict) and fee is None:
        fee = money(_first(rate.get("minValue")))
    time = _first(detail.get("deliveryTime"))
    if isinstance(time, str):
        return fee, None, clean(time)
    if not isinstance(time, dict):
        return fee, None, None
    hours = [_hours(_first(time.get(k))) for k in ("handlingTime", "transitTime")]
    known = [h for h in hours if h is not None]
    return fee, (sum(known) if known else None), None


def _hours(value: Any) -> float | None:
    if not isinstance(value, dict):
        return None
    amounts = [money(_first(value.get(k))) for k in ("minValue", "value", "maxValue")]
    amount = next((a for a in amounts if a is not None), None)
    if amount is None:
        return None
    unit = str(_first(value.get("unitCode")) or _first(value.get("unitText")) or "DAY").upper()
    return float(amount) * _UNIT_HOURS.get(unit.rstrip("S"), 24.0)


def _attributes(product: dict, group: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, name in _ATTRIBUTES.items():
        value = _name(product.get(key)) or _name(group.get(key))
        if value:
            out[name] = value
    props = product.get("additionalProperty") or []
    for prop in props if isinstance(props, list) else [props]:
        if not isinstance(prop, dict):
            continue
        prop_name, prop_value = clean(prop.get("name")), clean(_first(prop.get("value")))
        if prop_name and prop_value:
            key = prop_name.lower()
            out.setdefault(_ATTRIBUTES.get(key, key), prop_value)
    return out


def _identity(offer: Offer) -> tuple:
    """What makes two offers on one page the same offer found in two syntaxes (a set key: one page may
    hold 100,000 offers)."""
    return (offer.title, offer.price, offer.sku, offer.seller, tuple(sorted(offer.attributes.items())))


# --- RDFa and OpenGraph -----------------------------------------------------------------------------


def _rdfa_nodes(items: list[dict]) -> list[dict]:
    """extruct's RDFa (expanded JSON-LD) → compact schema.org dicts, references resolved."""
    by_id = {i.get("@id"): i for i in items if isinstance(i, dict)}

    def compact(node: dict, depth: int) -> dict:
        out: dict[str, Any] = {"@type": node.get("@type", [])}
        for key, values in node.items():
            if not key.startswith(SCHEMA):
                continue
            vals = [
                _rdfa_value(v, by_id, depth, compact)
                for v in (values if isinstance(values, list) else [values])
            ]
            out[key.split("/")[-1]] = vals[0] if len(vals) == 1 else vals
        return out

    return [
        compact(i, 0)
        for i in items
        if isinstance(i, dict)
        and _type(i) & PRODUCT_TYPES
        and any(str(t).startswith(SCHEMA) for t in i.get("@type", []))
    ]


def _rdfa_value(value: Any, by_id: dict, depth: int, compact: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "@value" in value:
        return value["@value"]
    ref = by_id.get(value.get("@id"))
    if ref is not None and depth < 4:
        return compact(ref, depth + 1)
    return value.get("@id")


def _opengraph_offer(og: dict[str, Any], url: str, m: Marketplace) -> Offer | None:
    """The offer OpenGraph ``product:``/``og:`` price tags describe, or ``None`` without a price."""
    raw = og.get("product:price:amount") or og.get("og:price:amount")
    if raw is None:
        return None
    sku = clean(og.get("product:retailer_item_id"))
    currency = clean(og.get("product:price:currency") or og.get("og:price:currency"))
    return Offer(
        marketplace=m.name,
        listing_id=sku or url_path(url),
        url=og.get("og:url") or url,
        title=clean(og.get("og:title")) or "",
        brand=clean(og.get("product:brand")),
        gtin=gtin(og.get("product:gtin") or og.get("product:ean") or og.get("product:upc")),
        sku=sku,
        price=structured_price(raw, currency),
        price_raw=str(raw),
        currency=_currency(currency),
        shipping=m.default_shipping,
        in_stock=availability(og.get("product:availability") or og.get("og:availability")),
        image=clean(og.get("og:image")),
    )
