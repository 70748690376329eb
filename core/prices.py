"""Price, shipping and delivery-promise text parsing.

``parse_price`` wraps price-parser's ``Price.fromstring`` (amount extraction) and adds what a
price-comparison crawler needs on top: ISO 4217 codes instead of symbols (``¥``/``元``/``人民币`` →
``CNY``), masked prices (``¥**``, ``询价``), ranges (``¥99-¥199`` → the low end, flagged) and "from"
prices (``¥99起``, ``from $5``), and Unicode normalisation (full-width ``￥１２３`` → ``¥123``).
Money is ``Decimal``; nothing here raises on odd input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from price_parser import Price

from core.numerals import CN_DIGITS, CN_NUMERAL, cn_to_int, has_unit

__all__ = ["ParsedPrice", "currency_code", "parse_delivery_hours", "parse_price", "parse_shipping"]


@dataclass(frozen=True)
class ParsedPrice:
    amount: Decimal | None
    """The price (the low end of a range); ``None`` when unusable (see ``reason``)."""
    currency: str | None
    """ISO 4217 code, or ``None`` when neither the text nor the hint names a known currency."""
    reason: str | None = None
    """``None`` for a plain price; else ``missing`` (no text), ``masked`` (``¥**``, ``询价``),
    ``unparsed`` (text without a number), ``scientific`` (``1e3``: no shop writes a price so; price-parser
    would read 1), ``not_text`` (a JSON object or list written as text, ``{'v': 1}``), ``range`` (low end
    taken) or ``from`` (a "from" price)."""
    is_range: bool = False
    is_from: bool = False
    currency_symbol: str | None = None
    """The currency as written on the page (``¥``, ``元``, ``руб.``), when seen."""

    @property
    def usable(self) -> bool:
        return self.amount is not None


# Symbols and words → ISO 4217. Keys are matched case-sensitively first, then lower-cased.
_SYMBOLS: dict[str, str] = {
    # Chinese yuan (¥ is CNY here; pass currency_hint="JPY" for yen)
    "¥": "CNY",
    "元": "CNY",
    "RMB": "CNY",
    "CNY": "CNY",
    "人民币": "CNY",
    "圆": "CNY",
    "圓": "CNY",
    "yuan": "CNY",
    "CN¥": "CNY",
    "块": "CNY",
    "円": "JPY",
    "yen": "JPY",
    "JP¥": "JPY",
    "JPY": "JPY",
    "$": "USD",
    "US$": "USD",
    "US $": "USD",
    "USD": "USD",
    "U$S": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "CAN$": "CAD",
    "CAD$": "CAD",
    "CAD": "CAD",
    "CND": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "AU $": "AUD",
    "AUD": "AUD",
    "NZ$": "NZD",
    "nzd": "NZD",
    "HK$": "HKD",
    "HKD": "HKD",
    "S$": "SGD",
    "SGD": "SGD",
    "NT$": "TWD",
    "NT": "TWD",
    "TWD": "TWD",
    "R$": "BRL",
    "BRL": "BRL",
    "MX$": "MXN",
    "MXN": "MXN",
    "G$": "GYD",
    "GY$": "GYD",
    "$b": "BOB",
    "€": "EUR",
    "EUR": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "￡": "GBP",
    "GBP": "GBP",
    "GBp": "GBP",
    "stg": "GBP",
    "pound": "GBP",
    "E£": "EGP",
    "ج.م": "EGP",
    "₩": "KRW",
    "원": "KRW",
    "KRW": "KRW",
    "₹": "INR",
    "Rs": "INR",
    "Rs.": "INR",
    "INR": "INR",
    "₽": "RUB",
    "руб": "RUB",
    "руб.": "RUB",
    "р.": "RUB",
    "Р": "RUB",
    "RUB": "RUB",
    "Rbl": "RUB",
    "грн": "UAH",
    "грн.": "UAH",
    "₴": "UAH",
    "hrn": "UAH",
    "UAH": "UAH",
    "zł": "PLN",
    "zl": "PLN",
    "PLN": "PLN",
    "Kč": "CZK",
    "CZK": "CZK",
    "Ft": "HUF",
    "HUF": "HUF",
    "lei": "RON",
    "RON": "RON",
    "лв": "BGN",
    "лв.": "BGN",
    "kn": "HRK",
    "CHF": "CHF",
    "chf": "CHF",
    "CHf": "CHF",
    "SFr": "CHF",
    "Fr.": "CHF",
    "DKK": "DKK",
    "SEK": "SEK",
    "NOK": "NOK",
    "ISK": "ISK",
    "₺": "TRY",
    "TL": "TRY",
    "TRY": "TRY",
    "₪": "ILS",
    "nis": "ILS",
    "ש״ח": "ILS",
    'ש"ח': "ILS",
    "ש'ח": "ILS",
    "ILS": "ILS",
    "₫": "VND",
    "VNĐ": "VND",
    "VND": "VND",
    "Rp": "IDR",
    "IDR": "IDR",
    "฿": "THB",
    "บาท": "THB",
    "THB": "THB",
    "RM": "MYR",
    "MYR": "MYR",
    "₱": "PHP",
    "PHP": "PHP",
    "تومان": "IRR",
    "ريال": "IRR",
    "ر.س": "SAR",
    "SAR": "SAR",
    "د.إ": "AED",
    "AED": "AED",
    "د.ك": "KWD",
    "ر.ق": "QAR",
    "ر.ع": "OMR",
    ".د.ب": "BHD",
    "د.ب": "BHD",
    "ع.د": "IQD",
    "د.ع": "IQD",
    "د.أ": "JOD",
    "د.ا": "JOD",
    "دينار أردني": "JOD",
    "دينار كويتي": "KWD",
    "د.ت": "TND",
    "د.ج": "DZD",
    "دج": "DZD",
    "د.م": "MAD",
    "ل.د": "LYD",
    "د.ل": "LYD",
    "ل.س": "SYP",
    "ل.ل": "LBP",
    "ر.ي": "YER",
    "ج.س": "SDG",
    "ج.س.": "SDG",
    "KSh": "KES",
    "KShs": "KES",
    "KES": "KES",
    "₦": "NGN",
    "NGN": "NGN",
    "ZAR": "ZAR",
    "₵": "GHS",
    "GH₵": "GHS",
    "FRw": "RWF",
    "RF": "RWF",
    "R₣": "RWF",
    "Fbu": "BIF",
    "ден": "MKD",
    "ДЕН": "MKD",
    "mkd": "MKD",
    "лари": "GEL",
    "lari": "GEL",
    "ლარი": "GEL",
    "₾": "GEL",
    "тг": "KZT",
    "₸": "KZT",
    "so'm": "UZS",
    "сўм": "UZS",
    "₮": "MNT",
    "Ks": "MMK",
    "Nu": "BTN",
    "Vt": "VUV",
    "S/": "PEN",
    "S/.": "PEN",
    "ரூ": "LKR",
    "රු": "LKR",
    "BTC": "XBT",
    "Ƀ": "XBT",
    "₿": "XBT",
}
_DOLLAR_FAMILY = {"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "TWD", "MXN", "BRL"}
_YEN_FAMILY = {"CNY", "JPY"}
_LOWER = {k.lower(): v for k, v in _SYMBOLS.items()}
_ISO_CODES = frozenset(_SYMBOLS.values()) | {
    "SEK",
    "NOK",
    "DKK",
    "ISK",
    "ZAR",
    "ARS",
    "CLP",
    "COP",
    "PKR",
    "BDT",
    "EGP",
    "HRK",
    "RSD",
    "XBT",
}
# Full-width forms (U+FF01..FF5E) to ASCII, plus the full-width yuan/pound signs and ideographic space.
_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0xFFE5: "¥", 0xFFE1: "£", 0x3000: " "}
# Longest first so that "CAN$" beats "$" and "руб." beats "руб". Word-like tokens need word edges.
_TOKEN_RE = re.compile(
    "|".join(
        (r"(?<![^\W\d_])" + re.escape(k) + r"(?![^\W\d_])") if re.search(r"[^\W\d_]$", k) else re.escape(k)
        for k in sorted(_SYMBOLS, key=len, reverse=True)
    )
)
_MASKED = re.compile(
    r"[¥$€£]\s*[*?xX]{2,}|\*{2,}|询价|面议|电议|议价|咨询客服|暂无报价|暂无价格|价格待定"
    r"|call for price|price on request|contact us for price",
    re.IGNORECASE,
)
_NUM = r"\d[\d,.\s]*\d|\d"
_RANGE = re.compile(
    rf"(?P<lo>{_NUM})\s*(?:-|~|～|–|—|至|到|to)\s*(?P<cur>[¥$€£]|[A-Z]{{3}})?\s*(?P<hi>{_NUM})"
)
_NEGATIVE = re.compile(r"^\s*(?:[¥$€£]|[A-Z]{3})?\s*[-−]\s*(?:[¥$€£]|[A-Z]{3})?\s*\d")
"""A leading minus sign, before or after the currency (``-¥270``, ``¥-270.00``, ``CNY -5``)."""
_FROM = re.compile(
    r"\d\s*(?:元)?\s*起|\bfrom\b|\bstarting at\b|\bab\b|\bà partir de\b|低至|最低", re.IGNORECASE
)
_CURRENCY_BEFORE = re.compile(r"[¥$€£]\s*$|[A-Z]{3}\s*$")
_FIRST_NUMBER = re.compile(r"\d[\d,.]*(?:[eE][+-]?\d+)?")
_SCIENTIFIC = re.compile(r"\d[eE][+-]?\d+$")
_NOT_TEXT = re.compile(r"^\s*(?:\{.*\}|\[.*[,:'\"{\[].*\])\s*$", re.DOTALL)
"""A JSON/Python object or list where a price text belongs (``{'v': 1}``, ``[1, 2]``)."""


def currency_code(symbol: str | None, hint: str | None = None) -> str | None:
    """ISO 4217 code for a currency symbol/word/code (``¥`` → ``CNY``, ``руб.`` → ``RUB``).

    ``hint`` (an ISO code such as the marketplace currency) settles ambiguous symbols: ``$`` with
    ``hint="CAD"`` is CAD, ``¥`` with ``hint="JPY"`` is JPY, ``kr`` takes the hint's krone/krona.
    """
    if not symbol:
        return None
    s = symbol.translate(_WIDTH).strip()
    code = _SYMBOLS.get(s) or _LOWER.get(s.lower())
    hint = _iso_hint(hint)
    if s == "$" and hint in _DOLLAR_FAMILY:
        return hint
    if s == "¥" and hint in _YEN_FAMILY:
        return hint
    if s.lower() in ("kr", "kr.", ",-kr") and hint in ("SEK", "NOK", "DKK", "ISK"):
        return hint
    if code is None and s in _ISO_CODES:
        return s
    return code


def _iso_hint(hint: str | None) -> str | None:
    """The hint when it is an ISO code we know (``CNY``), not page text such as ``Price:``."""
    return hint if hint in _ISO_CODES else None


def _find_symbol(text: str) -> str | None:
    match = _TOKEN_RE.search(text)
    return match.group(0) if match else None


def _to_decimal(number: str) -> Decimal | None:
    parsed = Price.fromstring(number)
    return parsed.amount


def _range_low(text: str) -> Decimal | None:
    """The low end of ``¥99-¥199`` / ``$10.00 – $20.00`` / ``99~199元``; ``None`` when not a range."""
    match = _RANGE.search(text)
    # Only a range that is the first number on the text: "€ 10.00 € 8.00 – € 10.00" is 10.00.
    if match is not None and not re.search(r"\d", text[: match.start()]):
        lo, hi = _to_decimal(match["lo"]), _to_decimal(match["hi"])
        marked = (
            match["cur"]
            or _CURRENCY_BEFORE.search(text[: match.start()])
            or _TOKEN_RE.match(text[match.end() :].lstrip())
            or ("." in match["lo"] and "." in match["hi"])
        )
        if lo is not None and hi is not None and lo < hi and marked:
            return lo
    return None


def parse_price(
    text: str | None, currency_hint: str | None = None, *, decimal_separator: str | None = None
) -> ParsedPrice:
    """Parse a price text such as ``¥5,999.00``, ``券后价 ¥5,799``, ``$1,299.99``, ``12,50 €``.

    ``currency_hint`` is either an ISO code (the marketplace currency: used when the text names no
    currency, and to settle ``$``/``¥``/``kr``) or nearby page text (passed to price-parser).
    """
    if text is None or not str(text).strip():
        return ParsedPrice(None, currency_code(currency_hint), "missing")
    raw = str(text).translate(_WIDTH).strip()
    hint_iso = _iso_hint(currency_hint)
    refused = unreadable_number(raw)
    if refused is not None:
        return ParsedPrice(None, currency_code(_find_symbol(raw), hint_iso) or hint_iso, refused)
    try:
        price = Price.fromstring(raw, currency_hint=currency_hint, decimal_separator=decimal_separator)
    except (InvalidOperation, ValueError, TypeError, IndexError):  # pragma: no cover - defensive
        price = Price(amount=None, currency=None, amount_text=None)
    symbol = _pick_symbol(price.currency, raw, currency_hint)
    currency = currency_code(symbol, hint_iso) or hint_iso
    amount = price.amount
    if _MASKED.search(raw) and (amount is None or not re.search(r"\d\s*[.,]?\s*\d", raw)):
        return ParsedPrice(None, currency, "masked", currency_symbol=symbol)
    if amount is None:
        return ParsedPrice(None, currency, "unparsed", currency_symbol=symbol)
    if _NEGATIVE.match(raw):  # price-parser drops the sign; a negative price must not read as positive
        amount = -amount
    low = _range_low(raw)
    if low is not None:
        return ParsedPrice(low, currency, "range", is_range=True, currency_symbol=symbol)
    if _FROM.search(raw):
        return ParsedPrice(amount, currency, "from", is_from=True, currency_symbol=symbol)
    return ParsedPrice(amount, currency, None, currency_symbol=symbol)


def unreadable_number(text: str) -> str | None:
    """``scientific`` when the text's first number is in scientific notation (``1e308``, ``¥1.5E+3``),
    ``not_text`` for an object or list written as text; else ``None``."""
    if _NOT_TEXT.match(text):
        return "not_text"
    first = _FIRST_NUMBER.search(text)
    return "scientific" if first is not None and _SCIENTIFIC.search(first.group(0)) else None


def _pick_symbol(found: str | None, text: str, hint_text: str | None) -> str | None:
    """price-parser's currency, unless our table knows a longer token around it (``CAN$`` vs ``N$``)."""
    ours = _find_symbol(text)
    if ours is None and found is None and hint_text and _iso_hint(hint_text) is None:
        ours = _find_symbol(hint_text.translate(_WIDTH))
    if found and ours and found in ours and len(ours) > len(found):
        return ours
    return found or ours


# --- shipping ---------------------------------------------------------------------------------------

_FREE = re.compile(
    r"包邮|免运费|免邮|免配送费|免费配送|运费\s*[:：]?\s*[¥￥]?\s*0(?:\.0+)?(?!\d|\.\d*[1-9])"
    r"|卖家承担运费|free\s+(?:shipping|delivery)|shipping\s*[:：]?\s*free|^\s*free\s*$",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(
    r"满\s*[¥￥]?\s*\d|\border(?:s)?\s+(?:over|above|of)\b|\bover\s*[$€£¥]|\$\s*\d+\s*\+", re.IGNORECASE
)


def parse_shipping(text: str | None, currency_hint: str | None = None) -> Decimal | None:
    """Shipping fee for one unit: ``包邮``/``免运费``/``free shipping`` → 0, ``运费 ¥6.00`` → 6.00.

    ``None`` when unknown, including conditional offers (``满99包邮``, ``free shipping on orders over $49``)
    that do not say what one unit costs to ship.
    """
    if text is None or not str(text).strip():
        return None
    raw = str(text).translate(_WIDTH)
    if _CONDITIONAL.search(raw):
        return None
    if _FREE.search(raw):
        return Decimal(0)
    parsed = parse_price(raw, currency_hint)
    return parsed.amount


# --- delivery promise -------------------------------------------------------------------------------

_N = rf"(\d+(?:\.\d+)?|半|{CN_NUMERAL})"
_DELIVERY_RULES: list[tuple[re.Pattern[str], float | None]] = [
    (
        re.compile(
            rf"{_N}\s*(?:-|~|～|–|至|到|to)\s*{_N}\s*(?:个)?(?:工作日|天|日|(?:business\s+|working\s+)?days?)",
            re.IGNORECASE,
        ),
        24.0,
    ),
    (
        re.compile(rf"{_N}\s*(?:-|~|～|–|至|到|to)\s*{_N}\s*(?:个)?(?:小时|h\b|hours?|hrs?)", re.IGNORECASE),
        1.0,
    ),
    (re.compile(rf"{_N}\s*(?:分钟|分|min(?:ute)?s?\b)", re.IGNORECASE), 1 / 60),
    (re.compile(rf"{_N}\s*(?:个)?(?:小时|h\b|hours?\b|hrs?\b)", re.IGNORECASE), 1.0),
    (
        re.compile(
            rf"{_N}\s*(?:个)?(?:工作日|天|日(?!达)|(?:business\s+|working\s+)?days?\b)", re.IGNORECASE
        ),
        24.0,
    ),
    (re.compile(rf"{_N}\s*(?:周|星期|weeks?\b)", re.IGNORECASE), 168.0),
    (re.compile(r"半小时|半个小时"), None),
    (re.compile(r"当日达|当天达|今日达|当日送达|当天送达|今天送达|same[- ]day|today", re.IGNORECASE), 12.0),
    (
        re.compile(r"次日达|次日送达|明日达|明天送达|隔天达|next[- ]day|tomorrow|overnight", re.IGNORECASE),
        24.0,
    ),
    (re.compile(r"隔日达|后天送达|后天达|two[- ]day|2[- ]day", re.IGNORECASE), 48.0),
]


def _number(token: str) -> float:
    """A count of units: 3, 2.5, 三十 → 30, 半 → 0.5; bare Chinese digits are a range, read as its lower
    bound (两三天 → 2), like ``3-5 days``."""
    if token == "半":
        return 0.5
    if has_unit(token):
        return float(cn_to_int(token))
    if token[0] in CN_DIGITS:
        return float(CN_DIGITS[token[0]])
    return float(token)


def parse_delivery_hours(text: str | None) -> float | None:
    """Promised delivery time in hours: ``30分钟达`` → 0.5, ``1小时达`` → 1, ``当日达`` → 12,
    ``次日达``/``next day`` → 24, ``隔日达`` → 48, ``预计3天送达``/``3-5 days`` → 72 (the lower bound)."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).translate(_WIDTH)
    if "隔日达" in raw:
        return 48.0
    for pattern, unit in _DELIVERY_RULES:
        match = pattern.search(raw)
        if match is None:
            continue
        if unit is None:
            return 0.5
        if match.groups():
            return round(_number(match.group(1)) * unit, 4)
        return unit
    return None
