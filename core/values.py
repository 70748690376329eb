"""Structured field values as shops publish them: money amounts, GTINs and availability words.

Money is ``Decimal``, never float; nothing here raises on odd input (``None`` means unusable).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from core.prices import currency_code, parse_price

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


# Phrases a page shows near the buy box, searched in free text (lower-cased). Out-of-stock phrases are
# looked for first: "not in stock" contains "in stock".
_OUT_OF_STOCK_TEXT = re.compile(
    r"out of stock|sold out|currently unavailable|no longer available|not available|unavailable"
    r"|not in stock|temporarily out|notify me when|email me when|ausverkauft|nicht (?:auf lager|verfügbar|lieferbar)"
    r"|derzeit nicht|épuisé|rupture de stock|indisponible|non disponibile|esaurito|agotado|sin stock"
    r"|no disponible|esgotado|indisponível|niet op voorraad|uitverkocht|brak w magazynie|niedostępny"
    r"|nie je skladom|vypredané|není skladem|нет в наличии|немає в наявності|slut i lager|ei varastossa"
    r"|품절|在庫切れ|品切れ|売り切れ|无货|缺货|售罄|已售完|已下架|暂时无货|到货通知|補貨中|缺貨|無貨|已售罄",
    re.IGNORECASE,
)
_IN_STOCK_TEXT = re.compile(
    r"\bin stock\b|available now|ready to ship|ships? (?:today|within|in)|add to (?:cart|basket|bag)|buy now"
    r"|auf lager|sofort lieferbar|lieferbar|en stock|disponible|disponibile|in magazzino|disponível"
    r"|op voorraad|na skladě|skladom|w magazynie|в наличии|på lager|varastossa|在庫あり|有货|现货|有貨|現貨"
    r"|加入购物车|立即购买|加入購物車|立即購買",
    re.IGNORECASE,
)


def availability_words(text: str | None) -> bool | None:
    """In stock? from words a page shows (``Out of stock``, ``In stock``, ``无货``, ``有货``, ``Add to cart``);
    ``None`` when the text says neither."""
    if not text:
        return None
    if _OUT_OF_STOCK_TEXT.search(text):
        return False
    if _IN_STOCK_TEXT.search(text):
        return True
    return None


# ISO 3166 region → ISO 4217 currency, for telling a page's "$" or "¥" (or a bare number) from its locale
# (``<html lang="en-CA">``, ``og:locale``) or its country domain.
_REGION_CURRENCY = {
    "US": "USD", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "HK": "HKD", "SG": "SGD", "TW": "TWD", "MX": "MXN",
    "BR": "BRL", "AR": "ARS", "CL": "CLP", "CO": "COP", "PE": "PEN", "UY": "UYU", "CN": "CNY", "JP": "JPY",
    "KR": "KRW", "IN": "INR", "PK": "PKR", "RU": "RUB", "UA": "UAH", "BY": "BYN", "KZ": "KZT", "TR": "TRY",
    "IL": "ILS", "SA": "SAR", "AE": "AED", "EG": "EGP", "ZA": "ZAR", "NG": "NGN", "KE": "KES", "GB": "GBP",
    "UK": "GBP", "CH": "CHF", "SE": "SEK", "NO": "NOK", "DK": "DKK", "IS": "ISK", "PL": "PLN", "CZ": "CZK",
    "HU": "HUF", "RO": "RON", "BG": "BGN", "HR": "EUR", "RS": "RSD", "TH": "THB", "VN": "VND", "ID": "IDR",
    "MY": "MYR", "PH": "PHP", "DE": "EUR", "FR": "EUR", "IT": "EUR", "ES": "EUR", "PT": "EUR", "NL": "EUR",
    "BE": "EUR", "AT": "EUR", "IE": "EUR", "FI": "EUR", "GR": "EUR", "SK": "EUR", "SI": "EUR", "EE": "EUR",
    "LV": "EUR", "LT": "EUR", "LU": "EUR", "MT": "EUR", "CY": "EUR",
}  # fmt: skip
_LANGUAGE_CURRENCY = {
    "ja": "JPY",
    "zh": "CNY",
    "ko": "KRW",
    "de": "EUR",
    "fr": "EUR",
    "it": "EUR",
    "nl": "EUR",
}
_LOCALE = re.compile(r"^([a-z]{2,3})(?:[-_]([a-z]{4}))?(?:[-_]([a-z]{2}))?\b", re.IGNORECASE)


def locale_currency(locale: str | None) -> str | None:
    """The currency of a locale (``en-GB`` → GBP, ``zh_TW`` → TWD, ``zh-Hans`` → CNY, ``ja`` → JPY);
    ``None`` when the locale names no region and its language is spoken in many currencies (``en``)."""
    match = _LOCALE.match((locale or "").strip())
    if match is None:
        return None
    language, script, region = (g.lower() if g else None for g in match.groups())
    if region:
        return _REGION_CURRENCY.get(region.upper())
    if language == "zh" and script == "hant":
        return "TWD"
    return _LANGUAGE_CURRENCY.get(language or "")


def domain_currency(host: str | None) -> str | None:
    """The currency of a country domain (``shop.co.uk`` → GBP, ``shop.com.ar`` → ARS); ``None`` for
    ``.com`` and other generic domains."""
    tld = (host or "").rstrip(".").rsplit(".", 1)[-1].upper()
    return _REGION_CURRENCY.get(tld) if len(tld) == 2 else None


# Signs that several currencies write: the page's own currency (markup, shop, locale) settles them.
_SHARED_SIGNS: dict[str, frozenset[str]] = {
    "$": frozenset(
        {"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "TWD", "MXN", "ARS", "CLP", "COP", "UYU", "BRL", "CUP"}
    ),
    "¥": frozenset({"CNY", "JPY"}),
    "元": frozenset({"CNY", "TWD", "HKD", "MOP"}),
    "圓": frozenset({"CNY", "TWD", "HKD", "MOP"}),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "kr.": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "Rs": frozenset({"INR", "PKR", "LKR", "NPR", "MUR"}),
    "Rs.": frozenset({"INR", "PKR", "LKR", "NPR", "MUR"}),
    "R$": frozenset({"BRL"}),
    "£": frozenset({"GBP", "EGP", "GIP", "FKP"}),
}


def sign_currency(sign: str | None, hint: str | None) -> str | None:
    """The ISO code of a currency sign as a page writes it, the page's own currency (``hint``) settling
    signs that several currencies share: ``$`` in a CLP shop is CLP, ``¥`` in a JPY shop is JPY."""
    if not sign:
        return hint
    shared = _SHARED_SIGNS.get(sign.strip())
    if shared is not None and hint in shared:
        return hint
    return currency_code(sign, hint) or hint
