"""Small helpers shared by the extractors: text, identifiers, money and body decoding."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from w3lib.encoding import html_to_unicode

_SPACE = re.compile(r"\s+")
_OUT_OF_STOCK = ("outofstock", "soldout", "discontinued", "out of stock", "sold out", "oos")
_IN_STOCK = ("instock", "limitedavailability", "instoreonly", "onlineonly", "preorder", "presale",
             "backorder", "in stock", "available")


def clean(text: Any) -> str | None:
    """Whitespace-collapsed text (HTML entities unescaped); ``None`` for empty/absent."""
    if text is None:
        return None
    value = _SPACE.sub(" ", html.unescape(str(text))).strip()
    return value or None


def gtin(value: Any) -> str | None:
    """Digits of a GTIN-8/12/13/14 (EAN/UPC/barcode); ``None`` when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    digits = re.sub(r"[\s-]", "", str(value))
    return digits if digits.isdigit() and len(digits) in (8, 12, 13, 14) else None


def money(value: Any) -> Decimal | None:
    """A structured price (``"119.99"``, ``119.99``, ``"1,299.00"``) as ``Decimal``; never float maths."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip().replace(",", "") if not isinstance(value, Decimal) else value
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def availability(value: Any) -> bool | None:
    """schema.org/OpenGraph availability → in stock? (``https://schema.org/InStock`` → True)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not value:
        return None
    token = str(value).rsplit("/", 1)[-1].strip().lower()
    if token in _OUT_OF_STOCK or token.replace(" ", "") in _OUT_OF_STOCK:
        return False
    if token in _IN_STOCK or token.replace(" ", "") in _IN_STOCK:
        return True
    return None


def to_text(body: str | bytes, content_type: str | None = None) -> str:
    """Decode an HTML body, honouring the Content-Type header, a BOM or a ``<meta charset>`` (GBK…)."""
    if isinstance(body, str):
        return body
    _encoding, text = html_to_unicode(content_type, body)
    return text


def to_json(body: str | bytes | dict | list) -> Any:
    """Parse a JSON body with ``Decimal`` for non-integers (no float rounding of prices)."""
    if isinstance(body, dict | list):
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8-sig")
    return json.loads(body, parse_float=Decimal)


def url_path(url: str) -> str:
    """The path of a URL as a listing id fallback (``/techmall/p/abc``)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
