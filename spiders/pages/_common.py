"""Small helpers shared by the extractors: text, identifiers, money and body decoding."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding, read_bom

_SPACE = re.compile(r"\s+")
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


def clean(text: Any) -> str | None:
    """Whitespace-collapsed text (HTML entities unescaped); ``None`` for empty/absent."""
    if text is None:
        return None
    value = _SPACE.sub(" ", html.unescape(str(text))).strip()
    return value or None


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
    ``crawler.prices.parse_price``. ``None`` for masked/missing prices."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal) or _PLAIN_NUMBER.match(str(value).strip()):
        return money(value)
    from crawler.prices import parse_price

    amount = parse_price(str(value), currency_hint).amount
    return amount if amount is not None and amount >= 0 else None


def to_text(body: str | bytes, content_type: str | None = None) -> str:
    """Decode an HTML body: BOM, Content-Type header, ``<meta charset>``/``http-equiv``, else detected."""
    if isinstance(body, str):
        return body
    encoding = choose_encoding(body, content_type)
    _encoding, text = html_to_unicode(f"charset={encoding}", body)
    return text


# --- encodings --------------------------------------------------------------------------------------
# Chinese pages are UTF-8, GBK/GB18030 or Big5, often with nothing declared. Big5 bytes are mostly
# valid GBK and GB2312 bytes mostly valid Big5, so a strict decode cannot tell them apart; what does is
# whether the decoded characters are the *common* ones of that script: GB2312 symbols and level-1
# hanzi (the 3,755 most used simplified characters) for GBK, Big5 symbols and level-1 (the 5,401 most
# used traditional characters) for Big5. A wrong decoding yields mostly rare characters.

_CJK_CANDIDATES = (
    ("gb18030", "gb2312", (0xA1, 0xA3), (0xB0, 0xD7)),
    ("big5hkscs", "big5", (0xA1, 0xA3), (0xA4, 0xC5)),
)
_COMMON_SHARE = 0.8
_LATIN = frozenset(
    {
        "cp1250",
        "cp1252",
        "cp1254",
        "cp1257",
        "latin_1",
        "iso8859_2",
        "iso8859_15",
        "mac_roman",
        "mac_latin2",
        "iso8859_9",
        "iso8859_13",
        "iso8859_16",
        "iso8859_4",
        "iso8859_10",
    }
)


def choose_encoding(body: bytes, content_type: str | None = None) -> str:
    """The encoding to read ``body`` with: a BOM; else what the HTTP header or the page declares (a
    declared UTF-8 the bytes are not is ignored); else UTF-8 when the bytes are; else detected."""
    bom, _ = read_bom(body)
    if bom:
        return bom
    header = http_content_type_encoding(content_type) if content_type else None
    meta = html_body_declared_encoding(body)
    for declared in (header, meta):
        if declared and (declared not in ("utf-8", "utf8") or _is_utf8(body)):
            return declared
    if _is_utf8(body):
        return "utf-8"
    return detect_encoding(body) or "utf-8"


def declared_encoding(body: bytes, content_type: str | None = None) -> str | None:
    """What the bytes or the header say (BOM, header, meta), or ``None`` when nothing is declared."""
    return (
        read_bom(body)[0]
        or (http_content_type_encoding(content_type) if content_type else None)
        or html_body_declared_encoding(body)
    )


def detect_encoding(body: bytes) -> str | None:
    """Guess the encoding of undeclared bytes: UTF-8, GB18030 (GBK) or Big5 by their common characters,
    else charset-normalizer's best guess (Japanese, Korean, Western pages)."""
    if _is_utf8(body):
        return "utf-8"
    scores = [
        (share, encoding)
        for encoding, table, symbols, level1 in _CJK_CANDIDATES
        if (share := _common_share(body, encoding, table, symbols, level1)) is not None
    ]
    if scores:
        share, encoding = max(scores, key=lambda s: s[0])  # ties: GB18030, the first candidate
        if share >= _COMMON_SHARE:
            return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    if best is None:
        return None
    if best.encoding in _LATIN and _decodes(body, "cp1252"):
        return "cp1252"  # short Western texts: the HTML default (WHATWG) rather than a near-tie guess
    return best.encoding


def _is_utf8(body: bytes) -> bool:
    return _decodes(body, "utf-8")


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _common_share(
    body: bytes, encoding: str, table: str, symbols: tuple[int, int], level1: tuple[int, int]
) -> float | None:
    """Share of the non-ASCII characters that are common ones when ``body`` is read as ``encoding``;
    ``None`` when the bytes are not valid in it."""
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        return None
    chars = [c for c in text if ord(c) > 0x7F]
    if not chars:
        return None
    common = 0
    for char in chars:
        try:
            lead = char.encode(table)[0]
        except UnicodeEncodeError:
            continue
        common += symbols[0] <= lead <= symbols[1] or level1[0] <= lead <= level1[1]
    return common / len(chars)


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
