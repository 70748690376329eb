"""Small helpers shared by the extractors: text and JSON bodies, URL paths.

Value parsing (money, GTIN, availability) lives in ``core.values``, body decoding in ``core.encoding``.
"""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

_SPACE = re.compile(r"\s+")


def clean(text: Any) -> str | None:
    """Whitespace-collapsed text (HTML entities unescaped); ``None`` for empty/absent."""
    if text is None:
        return None
    value = _SPACE.sub(" ", html.unescape(str(text))).strip()
    return value or None


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
