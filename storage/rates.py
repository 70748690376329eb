"""Exchange rates the user supplies (dated, never fetched) and the price settings stored beside them.

Prices keep the currency they were seen in. To compare offers in different currencies bijia converts them
into one *display currency* with the newest rate on or before the day asked for: a rate stored as
``USD → CNY`` also converts CNY into USD (its inverse). An offer whose currency has no usable rate is not
converted, and never ranked against the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb

from storage.schema import UNKNOWN_SHIPPING_POLICIES

CURRENCY = re.compile(r"^[A-Z]{3}$")
SETTINGS_DEFAULTS = {"display_currency": "CNY", "unknown_shipping": "flag"}


class RateError(ValueError):
    """A rate or setting that cannot be stored; the message says which value and why."""


@dataclass(frozen=True)
class Rate:
    currency: str
    quote: str
    rate: Decimal
    """1 ``currency`` = ``rate`` ``quote``."""
    valid_on: date


@dataclass(frozen=True)
class Conversion:
    """How to turn prices in ``currency`` into the display currency: multiply by ``rate``."""

    currency: str
    rate: Decimal
    valid_on: date | None
    """The stated rate's date; ``None`` for the display currency itself."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "rate": str(self.rate),
            "rate_date": self.valid_on.isoformat() if self.valid_on else None,
        }


@dataclass(frozen=True)
class PriceSettings:
    display_currency: str = "CNY"
    unknown_shipping: str = "flag"


def currency_code(value: str) -> str:
    """``usd`` → ``USD``; a ``RateError`` unless it is three letters (ISO 4217 style)."""
    code = value.strip().upper()
    if not CURRENCY.match(code):
        raise RateError(f"{value!r} is not a currency code (three letters, e.g. CNY, USD, EUR)")
    return code


def set_rate(con: duckdb.DuckDBPyConnection, currency: str, quote: str, rate: str, valid_on: date) -> Rate:
    """Store ``1 currency = rate quote`` from ``valid_on`` on (replacing a rate of the same day)."""
    base, target = currency_code(currency), currency_code(quote)
    if base == target:
        raise RateError(f"a rate from {base} to itself is always 1")
    try:
        value = Decimal(rate)
    except (InvalidOperation, TypeError):
        raise RateError(f"rate {rate!r} is not a number") from None
    if not value.is_finite() or value <= 0 or value >= Decimal("1e9"):
        raise RateError(f"rate {rate!r} must be a positive number below 1e9")
    con.execute(
        "INSERT OR REPLACE INTO fx_rates VALUES (?, ?, ?, ?, ?)",
        [base, target, value, valid_on, datetime.now(UTC)],
    )
    return Rate(base, target, value, valid_on)


def list_rates(con: duckdb.DuckDBPyConnection) -> list[Rate]:
    rows = con.execute(
        "SELECT currency, quote, rate, valid_on FROM fx_rates ORDER BY currency, quote, valid_on DESC"
    ).fetchall()
    return [Rate(*row) for row in rows]


def conversions(con: duckdb.DuckDBPyConnection, display: str, on: date) -> dict[str, Conversion]:
    """Per currency, its newest usable conversion into ``display`` on day ``on`` (direct or inverse)."""
    display = currency_code(display)
    found: dict[str, Conversion] = {display: Conversion(display, Decimal(1), None)}
    rows = con.execute(
        "SELECT currency, quote, rate, valid_on FROM fx_rates "
        "WHERE (quote = ? OR currency = ?) AND valid_on <= ? ORDER BY valid_on",
        [display, display, on],
    ).fetchall()
    for base, quote, rate, valid_on in rows:  # oldest first: the newest rate of each currency wins
        other, factor = (base, rate) if quote == display else (quote, Decimal(1) / rate)
        found[other] = Conversion(other, factor.quantize(Decimal("1e-8")), valid_on)
    return found


def conversion_rows(table: dict[str, Conversion]) -> tuple[str, dict[str, Any]]:
    """SQL (a ``SELECT`` of rows ``(currency, rate, rate_date)``) and its named parameters."""
    items = sorted(table.values(), key=lambda c: c.currency)
    sql = (
        "SELECT unnest($fx_currency::VARCHAR[]) AS currency, unnest($fx_rate::DECIMAL(18,8)[]) AS rate, "
        "unnest($fx_date::DATE[]) AS rate_date"
    )
    return (
        sql,
        {
            "fx_currency": [c.currency for c in items],
            "fx_rate": [c.rate for c in items],
            "fx_date": [c.valid_on for c in items],
        },
    )


def get_settings(con: duckdb.DuckDBPyConnection) -> PriceSettings:
    stored = dict(con.execute("SELECT name, value FROM price_settings").fetchall())
    return PriceSettings(
        **{**SETTINGS_DEFAULTS, **{k: v for k, v in stored.items() if k in SETTINGS_DEFAULTS}}
    )


def set_setting(con: duckdb.DuckDBPyConnection, name: str, value: str) -> PriceSettings:
    """Store one price setting (``display_currency`` or ``unknown_shipping``), checked."""
    if name == "display_currency":
        value = currency_code(value)
    elif name == "unknown_shipping":
        if value not in UNKNOWN_SHIPPING_POLICIES:
            raise RateError(f"unknown_shipping: {value!r} (one of {', '.join(UNKNOWN_SHIPPING_POLICIES)})")
    else:
        raise RateError(f"no setting {name!r} (settings: {', '.join(SETTINGS_DEFAULTS)})")
    con.execute("INSERT OR REPLACE INTO price_settings VALUES (?, ?, ?)", [name, value, datetime.now(UTC)])
    return get_settings(con)
