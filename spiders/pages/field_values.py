"""Per-field processors of the field-map engine: a raw value found on a page → ``Offer`` keyword arguments.

Each processor returns a small dict (``{"price": Decimal, "price_raw": "¥5,999.00", "currency": "CNY"}``)
so that one field can fill several ``Offer`` attributes (a stock text fills ``in_stock`` and
``stock_qty``). Nothing here raises on odd input: an unreadable value fills nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urljoin

from core.prices import currency_code, parse_delivery_hours, parse_price, parse_shipping
from core.values import availability, gtin
from spiders.pages._common import clean

Fragment = dict[str, Any]
RELATIVE = re.compile(r"^[\w-]+(?:/|$)")
PLAIN = re.compile(r"^\d+(?:\.\d+)?$")
_UNCLEAN = re.compile(r"^\s|\s$|\s\s|[\t\n\r\f\v\xa0\u3000]")
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_QTY = re.compile(
    r"(?:仅剩|剩余|库存|还剩|only|stock[:：]?)\s*(\d+)|(\d+)\s*(?:件|个)?\s*(?:in stock|有货|库存)", re.I
)
_NO_STOCK = (
    "无货",
    "缺货",
    "售罄",
    "已售完",
    "已售罄",
    "到货通知",
    "暂时缺货",
    "补货中",
    "已下架",
    "sold out",
    "out of stock",
)
_IN_STOCK = ("有货", "现货", "在售", "可售", "in stock", "available", "可配送", "立即购买")
_UNIT = re.compile(
    r"(\d+(?:\.\d+)?)\s*(ml|mL|ML|l|L|升|毫升|g|G|kg|KG|Kg|克|千克|公斤|斤|oz|lb|cl|片|抽|粒)(?![a-zA-Z])"
)
_PACK = re.compile(
    r"[×xX*＊]\s*(\d+)\s*(?:瓶|罐|盒|袋|包|支|听|件|个|卷|提|pcs|pack|packs)?"
    r"|(\d+)\s*(?:瓶|罐|盒|袋|包|支|听|卷|提)\s*(?:装)?"
)


def number(value: Any, scale: Decimal | None = None) -> Decimal | None:
    """A JSON number or a plain numeric text as ``Decimal`` (times ``scale``); ``None`` otherwise."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = (
            Decimal(value)
            if isinstance(value, int | Decimal)
            else Decimal(str(value).strip().replace(",", ""))
        )
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return amount * scale if scale is not None else amount


def text(value: Any) -> str | None:
    """Whitespace-collapsed text; HTML tags inside JSON strings (search highlighting) are removed."""
    if value is None or isinstance(value, dict | list):
        return None
    raw = value if isinstance(value, str) else str(value)
    if "<" in raw:
        raw = _TAG.sub("", raw)
    if "&" not in raw and tidy(raw):  # already clean text: skip the unescape and collapse
        return raw or None
    return clean(raw)


def tidy(raw: str) -> bool:
    """Whether ``raw`` has no whitespace to collapse or strip. A printable text's only whitespace is the
    space (every other whitespace character is unprintable): three substring tests, no regex."""
    if raw.isprintable():
        return not raw or (raw[0] != " " and raw[-1] != " " and "  " not in raw)
    return not _UNCLEAN.search(raw)


def price_fragment(field: str, value: Any, hint: str | None, scale: Decimal | None) -> Fragment:
    """``price``/``list_price``/``final_price``: numbers as they are; texts through ``parse_price``
    (``¥5,999.00``, ``5999元``, ``¥99-199`` → the low end, ``¥99起``, ``券后价 ¥5,799``)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        amount = number(value, scale)
        return {field: amount, f"{field}_raw": str(value)} if amount is not None else {}
    raw = text(value)
    if raw is None:
        return {}
    if PLAIN.match(raw):  # "5999.00": a number written as text, no currency to read
        return {field: number(raw, scale), f"{field}_raw": raw}
    parsed = parse_price(raw, hint)
    out: Fragment = {field: parsed.amount, f"{field}_raw": raw}
    if parsed.amount is not None and parsed.currency and parsed.currency_symbol:
        out["currency"] = parsed.currency  # the page names it (¥, 元, $): it wins over the default
    return out


def shipping_fragment(value: Any, hint: str | None, scale: Decimal | None) -> Fragment:
    """A fee number, or a text: ``包邮``/``免运费``/``free shipping`` → 0, ``运费 ¥6.00`` → 6.00."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return {"shipping": number(value, scale), "shipping_raw": str(value)}
    raw = text(value)
    if raw and PLAIN.match(raw):  # "3.00": a fee written as text
        return {"shipping": number(raw, scale), "shipping_raw": raw}
    return {"shipping": parse_shipping(raw, hint), "shipping_raw": raw} if raw else {}


def stock_fragment(value: Any) -> Fragment:
    """A boolean, a quantity (0 = out of stock), or stock words (有货/无货/仅剩3件/in stock/sold out)."""
    if isinstance(value, bool):
        return {"in_stock": value}
    if isinstance(value, Decimal) and not value.is_finite():  # NaN, Infinity: no quantity
        return {}
    if isinstance(value, int | Decimal) or (isinstance(value, str) and value.strip().isdecimal()):
        qty = int(value)
        return {"in_stock": qty > 0, "stock_qty": qty}
    raw = text(value)
    if raw is None:
        return {}
    folded = raw.lower()
    quantity = _QTY.search(raw)
    if quantity:
        qty = int(quantity.group(1) or quantity.group(2))
        return {"in_stock": qty > 0, "stock_qty": qty}
    if any(word in folded for word in _NO_STOCK):
        return {"in_stock": False}
    known = availability(raw)
    if known is not None:
        return {"in_stock": known}
    return {"in_stock": True} if any(word in folded for word in _IN_STOCK) else {}


def delivery_fragment(value: Any) -> Fragment:
    """A delivery promise as shown (``次日达``, ``30分钟达``, ``预计3天送达``): text and hours."""
    raw = text(value)
    return {"delivery_raw": raw, "delivery_hours": parse_delivery_hours(raw)} if raw else {}


def minutes_fragment(value: Any) -> Fragment:
    """A delivery time in minutes (a number, or a text such as ``45分钟``)."""
    minutes = number(value) if not isinstance(value, str) else number(re.sub(r"[^\d.]", "", value) or None)
    if minutes is None:
        return {}
    return {"delivery_hours": round(float(minutes) / 60, 4), "delivery_raw": f"{float(minutes):g}分钟"}


def unit_attributes(value: Any) -> dict[str, str]:
    """Unit and pack text → attributes: ``500ml×12瓶`` → ``{"size": "500ml", "pack": "12"}``."""
    raw = text(value)
    if raw is None:
        return {}
    out: dict[str, str] = {}
    size = _UNIT.search(raw)
    if size:
        out["size"] = f"{size.group(1)}{size.group(2).lower() if size.group(2).isascii() else size.group(2)}"
    pack = _PACK.search(raw[size.end() :] if size else raw)
    if pack:
        out["pack"] = pack.group(1) or pack.group(2)
    return out or {"spec": raw}


def texts(values: Any) -> list[str]:
    """Every text of a value or list of values, once each, in order (promotion tags)."""
    found: dict[str, None] = {}  # ordered, once each
    for value in values if isinstance(values, list) else [values]:
        if found_text := text(value):
            found[found_text] = None
    return list(found)


def url_value(value: Any, page_url: str, base_url: str, templated: bool) -> str | None:
    """An absolute URL: a templated one from ``base_url``, a scraped one from the page (``//host/x``
    takes the page's scheme)."""
    raw = text(value)
    if raw is None or raw.startswith(("javascript:", "#", "data:")):
        return None
    if raw.startswith(("https://", "http://")):
        return raw
    base = base_url if templated else page_url
    if templated and base.endswith("/") and RELATIVE.match(raw):  # "store/101/…" under the shop's folder
        return base + raw
    return urljoin(base, raw)


def _int(value: Any) -> int | None:
    amount = number(value) if not isinstance(value, str) else number(re.sub(r"[^\d.]", "", value) or None)
    return int(amount) if amount is not None else None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    folded = (text(value) or "").lower()
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(folded)


def _currency(value: Any, hint: str | None) -> str | None:
    raw = text(value)
    if raw is None:
        return None
    return (
        raw
        if len(raw) == 3 and raw.isalpha() and raw.isupper() and raw != "RMB"
        else currency_code(raw, hint)
    )


SIMPLE: dict[str, Callable[[Any], Any]] = {
    "text": text,
    "int": _int,
    "number": lambda v: float(n) if (n := number(v)) is not None else None,
    "bool": _bool,
    "gtin": gtin,
}
"""Processors that fill exactly the field they are named on."""
DEFAULT_PROCESSOR = {
    "price": "price",
    "list_price": "price",
    "final_price": "price",
    "shipping": "shipping",
    "in_stock": "stock",
    "stock_qty": "int",
    "delivery": "delivery",
    "gtin": "gtin",
    "url": "url",
    "image": "url",
    "distance_km": "number",
    "latitude": "number",
    "longitude": "number",
    "delivery_radius_km": "number",
    "promotions": "list",
}


def fragment(field: str, processor: str, value: Any, *, hint: str | None, scale: Decimal | None) -> Fragment:
    """What ``value`` (raw, from the page) fills for ``field`` read by ``processor``."""
    if processor == "price":
        return price_fragment(
            field if field in ("price", "list_price", "final_price") else "price", value, hint, scale
        )
    if processor == "shipping":
        return shipping_fragment(value, hint, scale)
    if processor == "stock":
        return stock_fragment(value)
    if processor == "delivery":
        return delivery_fragment(value)
    if processor == "minutes":
        return minutes_fragment(value)
    if field == "currency":
        return {"currency": _currency(value, hint)}
    if field == "delivery":
        return delivery_fragment(value)
    reader = SIMPLE.get(processor, text)
    result = reader(value)
    if scale is not None and isinstance(result, int | float) and not isinstance(result, bool):
        result = type(result)(Decimal(str(result)) * scale)
    return {field: result}
