"""Rules that make an offer storable exactly as it will be read back.

Money columns are ``DECIMAL(18,2)``: a price is kept as the cents DuckDB would store (rounded half away
from zero, as DuckDB's cast does), so a price that rounds to ¥0.00 is refused here instead of being
stored as the lowest price, and an amount past 16 digits never reaches the database (where it would fail
the whole batch). Offers are refused for their price, coupon price, shipping or URL; secondary fields
that cannot be stored (a list price of 1e17, a stock of 10¹², an ``image`` that is ``javascript:``, text
with a lone UTF-16 surrogate) are cleared or repaired and the offer kept. Each is a counted reason.
"""

from __future__ import annotations

import dataclasses
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.offer import Offer
from core.prices import unreadable_number
from crawler.urlpolicy import http_url

CENT = Decimal("0.01")
MONEY_MAX = Decimal("9999999999999999.99")
"""The largest ``DECIMAL(18,2)``."""
INT_MAX = 2**31 - 1
"""The largest ``INTEGER`` (``stock_qty``)."""
MONEY_FIELDS = ("price", "list_price", "final_price", "shipping")
TEXT_FIELDS = tuple(f.name for f in dataclasses.fields(Offer) if f.type in ("str", "str | None"))


_UNREADABLE = {"scientific": "scientific_notation", "not_text": "not_a_number"}


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _usable(amount: Decimal | None, max_amount: Decimal) -> bool:
    return amount is not None and amount.is_finite() and abs(amount) <= min(max_amount, MONEY_MAX)


def refusal(item: Offer, max_price: Decimal) -> str | None:
    """Why the offer cannot be compared or stored, or ``None``."""
    if not item.listing_id:
        return "no_listing_id"
    if not item.title or not item.title.strip():
        return "no_title"
    if http_url(item.url) is None:
        return "url_not_http"
    return price_refusal(item, max_price)


def price_refusal(item: Offer, max_price: Decimal) -> str | None:
    price, final, shipping = item.price, item.final_price, item.shipping
    if price is None or not price.is_finite():
        return unreadable_price(item.price_raw)
    if price <= 0:
        return "price_not_positive"
    if not _usable(price, max_price):
        return "price_absurd"
    if cents(price) == 0:
        return "price_rounds_to_zero"
    if final is not None and not (final.is_finite() and 0 < final <= price):
        return "final_price_inconsistent"
    if final is not None and cents(final) == 0:
        return "final_price_rounds_to_zero"
    if shipping is not None and not (_usable(shipping, max_price) and shipping >= 0):
        return "shipping_absurd"
    return None


def unreadable_price(raw: str | None) -> str:
    """``no_price``, or what is wrong with a price text no parser should read (``1e308``, ``{'v': 1}``)."""
    why = unreadable_number(raw.strip()) if raw else None
    return f"price_{_UNREADABLE[why]}" if why else "no_price"


def unreadable_fields(item: Offer) -> list[tuple[str, str]]:
    """(field, why) for a list or coupon price the page wrote in a form no parser should read."""
    found = []
    for name in ("list_price", "final_price"):
        raw = getattr(item, f"{name}_raw")
        why = unreadable_number(raw.strip()) if getattr(item, name) is None and raw else None
        if why is not None:
            found.append((name, why))
    return found


def make_storable(item: Offer, max_price: Decimal) -> list[str]:
    """Clear or repair what cannot be stored (after ``refusal`` said the offer is kept); round money to
    cents. Returns the reasons, one per field changed."""
    reasons = [f"{name}_{_UNREADABLE[why]}" for name, why in unreadable_fields(item)]
    lp = item.list_price
    if lp is not None and not (_usable(lp, max_price) and lp > 0 and cents(lp) > 0):
        item.list_price, item.list_price_raw = None, None
        reasons.append("list_price_out_of_range")
    if item.stock_qty is not None and not 0 <= item.stock_qty <= INT_MAX:
        item.stock_qty = None
        reasons.append("stock_qty_out_of_range")
    for name in ("distance_km", "delivery_hours"):
        value = getattr(item, name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            setattr(item, name, None)
            reasons.append(f"{name}_out_of_range")
    if item.image is not None and http_url(item.image) is None:
        item.image = None
        reasons.append("image_not_http")
    if repair_text(item):
        reasons.append("text_not_unicode")
    for name in MONEY_FIELDS:
        value = getattr(item, name)
        if value is not None:
            setattr(item, name, cents(value))
    item.url = item.url.strip()
    return reasons


def repair_text(item: Offer) -> bool:
    """Replace lone UTF-16 surrogates (``"\\ud800"`` from a JSON escape), which no database can encode."""
    changed = False
    for name in TEXT_FIELDS:
        value = getattr(item, name)
        if isinstance(value, str) and not _encodable(value):
            setattr(item, name, _repaired(value))
            changed = True
    if any(not _encodable(k) or not _encodable(v) for k, v in item.attributes.items()):
        item.attributes = {_repaired(k): _repaired(v) for k, v in item.attributes.items()}
        changed = True
    return changed


def _encodable(text: Any) -> bool:
    if not isinstance(text, str):
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _repaired(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
