"""``bijia rates``: store and list exchange rates and the price settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from service.errors import UserError
from storage import connected
from storage.rates import PriceSettings, Rate, RateError, get_settings, list_rates
from storage.rates import set_rate as store_rate
from storage.rates import set_setting as store_setting


def set_rate(db: Path, currency: str, quote: str, rate: str, day: str | None = None) -> Rate:
    """Store ``1 currency = rate quote`` from ``day`` (ISO date; default today) on."""
    try:
        valid_on = date.fromisoformat(day) if day else datetime.now(UTC).date()
    except ValueError:
        raise UserError(f"--date: {day!r} is not a date (YYYY-MM-DD)") from None
    with connected(db) as con:
        try:
            return store_rate(con, currency, quote, rate, valid_on)
        except RateError as exc:
            raise UserError(str(exc)) from None


def rates(db: Path) -> tuple[list[Rate], PriceSettings]:
    with connected(db, read_only=True) as con:
        return list_rates(con), get_settings(con)


def set_setting(db: Path, name: str, value: str) -> PriceSettings:
    with connected(db) as con:
        try:
            return store_setting(con, name, value)
        except RateError as exc:
            raise UserError(str(exc)) from None
