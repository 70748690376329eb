"""Structured field values as shops publish them: money amounts, GTINs and availability words.

Money is ``Decimal``, never float; nothing here raises on odd input (``None`` means unusable).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from core.prices import parse_price

# schema.org ItemAvailability names and the plain words shops write (OpenGraph, WooCommerce, Chinese
# shops), compared lower-cased without spaces, ``_`` or ``-``.
_OUT_OF_STOCK = frozenset(
    {
        "outofstock",
        "soldout",
        "discontinued",
        "oos",
        "unavailable",
        "notavailable",
        "无货",
        "缺货",
        "售罄",
        "已售罄",
        "已下架",
        "下架",
        "暂时缺货",
        "已售完",
        "補貨中",
        "缺貨",
    }
)
_IN_STOCK = frozenset(
    {
        "instock",
        "limitedavailability",
        "instoreonly",
        "onlineonly",
        "preorder",
        "presale",
        "backorder",
        "madetoorder",
        "available",
        "availablefororder",
        "onbackorder",
        "有货",
        "现货",
        "有貨",
        "現貨",
        "在售",
        "可售",
        "预售",
        "預售",
    }
)
_GS1_LINK = re.compile(r"/01/(\d{8,14})(?:[/?#]|$)")


def gtin(value: Any, length: int | None = None) -> str | None:
    """Digits of a GTIN-8/12/13/14 (EAN/UPC/barcode); ``None`` when it is not one.

    Accepts ``urn:gtin:…``/``gtin:…`` and GS1 Digital Link URLs (``https://id.gs1.org/01/<gtin>``).
    ``length`` (from a ``gtin12``/``gtin13``/``gtin14`` key) restores leading zeros that a JSON number
    or a spreadsheet lost: ``gtin12: 12345678905`` → ``012345678905``.
    """
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    link = _GS1_LINK.search(text)
    if link:
        text = link.group(1)
    text = re.sub(r"^(?:urn:)?gtin(?:-?\d{1,2})?:", "", text, flags=re.IGNORECASE)
    digits = re.sub(r"[\s-]", "", text)
    if not digits.isdigit():
        return None
    if length is not None and len(digits) < length and len(digits) >= length - 2:
        digits = digits.zfill(length)
    return digits if len(digits) in (8, 12, 13, 14) else None


def money(value: Any) -> Decimal | None:
    """A structured price (``"119.99"``, ``119.99``, ``"1,299.00"``) as ``Decimal``; never float maths.

    ``None`` for what no shop means as a price: objects and lists, negative or non-finite numbers, and
    scientific notation (``"1e20"``, ``1e308``; a JSON ``1e3`` read as ``Decimal("1E+3")``)."""
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    text = str(value).strip().replace(",", "") if not isinstance(value, Decimal) else value
    if isinstance(text, str) and "e" in text.lower():
        return None
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or int(amount.as_tuple().exponent) > 0:
        return None
    return amount


def availability(value: Any) -> bool | None:
    """schema.org/OpenGraph availability → in stock? ``None`` when unknown.

    ``https://schema.org/InStock``, ``schema:InStock``, ``InStock``, ``in stock``, ``in_stock``,
    ``有货`` → True; ``OutOfStock``, ``SoldOut``, ``out of stock``, ``无货``, ``缺货`` → False.
    """
    if isinstance(value, list):
        value = value[0] if value else None
    if not value or isinstance(value, bool):
        return None
    token = str(value).strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].rsplit("#", 1)[-1]
    token = re.sub(r"[\s_-]+", "", token.lower())
    if token in _OUT_OF_STOCK:
        return False
    if token in _IN_STOCK:
        return True
    return None


_PLAIN_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def structured_price(value: Any, currency_hint: str | None = None) -> Decimal | None:
    """A price from structured data: a number as schema.org asks (``"1299.00"``, ``1299``), else —
    as real pages write it — a price text (``"1.299,00"``, ``"¥1,299.00"``, ``"$19.99"``) through
    ``core.prices.parse_price``. ``None`` for masked/missing prices, objects, lists and scientific
    notation (see ``money``)."""
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    if isinstance(value, int | float | Decimal) or _PLAIN_NUMBER.match(str(value).strip()):
        return money(value)
    amount = parse_price(str(value), currency_hint).amount
    return amount if amount is not None and amount >= 0 else None
