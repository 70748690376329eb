"""``bijia compare``, ``show`` and ``history``: the comparison, one product with every offer, and a product's
price history — from the working database, in the display currency (``storage.rates``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from service.errors import UserError
from service.vocabulary import search_synonyms
from storage import connected
from storage.history import PriceFacts, daily_history, offer_facts, product_facts
from storage.rates import Conversion, PriceSettings, RateError, conversions, currency_code, get_settings
from storage.schema import UNKNOWN_SHIPPING_POLICIES
from storage.working_queries import ComparisonRow, OfferView, product_offers, product_row
from storage.working_queries import compare as compare_rows


@dataclass
class Display:
    """The display currency, the conversions used (with their dates) and the unknown-shipping policy."""

    currency: str
    conversions: dict[str, Conversion]
    unknown_shipping: str

    def rates_note(self) -> str:
        """``USD 7.12 (2026-11-20)`` for each converted currency, for a table title or a footer."""
        used = [c for c in self.conversions.values() if c.valid_on is not None]
        return ", ".join(f"{c.currency} {c.rate.normalize()} ({c.valid_on})" for c in used)


@dataclass
class Comparison:
    rows: list[ComparisonRow]
    marketplaces: list[str]
    """Every marketplace that has a best offer in ``rows``, sorted."""
    display: Display


@dataclass
class ProductView:
    product_id: str
    title: str
    brand: str | None
    category: str | None
    offers: list[OfferView]
    offer_facts: dict[tuple[str, str], PriceFacts]
    facts: PriceFacts | None
    days: list[dict[str, Any]]
    display: Display
    apart: list[OfferView] = field(default_factory=list)


def display_settings(
    con: duckdb.DuckDBPyConnection, currency: str | None, unknown_shipping: str | None
) -> Display:
    """The stored settings, overridden by the command's options."""
    stored: PriceSettings = get_settings(con)
    try:
        code = currency_code(currency) if currency else stored.display_currency
    except RateError as exc:
        raise UserError(f"--currency: {exc}") from None
    policy = unknown_shipping or stored.unknown_shipping
    if policy not in UNKNOWN_SHIPPING_POLICIES:
        raise UserError(f"--unknown-shipping: {policy!r} (one of {', '.join(UNKNOWN_SHIPPING_POLICIES)})")
    return Display(code, conversions(con, code, datetime.now(UTC).date()), policy)


def compare(
    db: Path,
    query: str | None,
    *,
    limit: int | None = 50,
    min_marketplaces: int | None = None,
    currency: str | None = None,
    unknown_shipping: str | None = None,
) -> Comparison:
    """Per product matching ``query`` (words, brand/category in either language, a GTIN or a model number;
    most relevant first): each marketplace's best landed price, the lowest, where, the saving, the facts.
    ``min_marketplaces``: default 2 without a query, 1 with one."""
    least = min_marketplaces or (1 if query else 2)
    with connected(db, read_only=True) as con:
        display = display_settings(con, currency, unknown_shipping)
        rows = compare_rows(
            con,
            query,
            conv=display.conversions,
            unknown_shipping=display.unknown_shipping,
            min_marketplaces=least,
            limit=limit,
            synonyms=search_synonyms(),
        )
        facts = product_facts(con, display.conversions, [r.product_id for r in rows])
    for row in rows:
        row.facts = facts.get(row.product_id)
    return Comparison(rows, sorted({b.marketplace for r in rows for b in r.best}), display)


def show(
    db: Path, product_id: str, *, currency: str | None = None, unknown_shipping: str | None = None
) -> ProductView:
    """One product: every offer with its prices, stock, delivery, store/seller, distance and reference facts,
    the product's facts and its daily history."""
    with connected(db, read_only=True) as con:
        found = product_row(con, product_id)
        if found is None:
            raise UserError(f"no product {product_id!r} (find one with `bijia compare WORDS`)")
        display = display_settings(con, currency, unknown_shipping)
        offers = product_offers(con, product_id, display.conversions, display.unknown_shipping)
        per_offer = offer_facts(con, [product_id])
        facts = product_facts(con, display.conversions, [product_id]).get(product_id)
        days = daily_history(con, product_id, days=30)
    ranked = [o for o in offers if o.display_price is not None]
    apart = [o for o in offers if o.display_price is None]
    return ProductView(product_id, *found, ranked, per_offer, facts, days, display, apart)


@dataclass
class HistoryView:
    product_id: str
    facts: PriceFacts | None
    days: list[dict[str, Any]]
    display: Display


def history(
    db: Path, product_id: str, *, days: int | None = None, currency: str | None = None
) -> HistoryView:
    """A product's reference-price facts and its price history by day and marketplace (the last ``days``)."""
    with connected(db, read_only=True) as con:
        if product_row(con, product_id) is None:
            raise UserError(f"no product {product_id!r} (find one with `bijia compare WORDS`)")
        display = display_settings(con, currency, None)
        facts = product_facts(con, display.conversions, [product_id]).get(product_id)
        rows = daily_history(con, product_id, days=days)
    return HistoryView(product_id, facts, rows, display)
