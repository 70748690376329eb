"""What an offer row holds and how its prices combine: written once, read by every query module.

The numbered migrations (``storage.migrations``) are the history of the tables and stay as written;
``OFFER_COLUMNS`` is their current offer columns in order, and the price expressions below are the
one definition of "effective" and "landed" prices in SQL.
"""

from __future__ import annotations

OFFER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("marketplace", "VARCHAR"),
    ("listing_id", "VARCHAR"),
    ("url", "VARCHAR"),
    ("title", "VARCHAR"),
    ("brand", "VARCHAR"),
    ("gtin", "VARCHAR"),
    ("mpn", "VARCHAR"),
    ("sku", "VARCHAR"),
    ("category", "VARCHAR"),
    ("attributes", "JSON"),
    ("price", "DECIMAL(18,2)"),
    ("price_raw", "VARCHAR"),
    ("list_price", "DECIMAL(18,2)"),
    ("final_price", "DECIMAL(18,2)"),
    ("final_price_raw", "VARCHAR"),
    ("shipping", "DECIMAL(18,2)"),
    ("shipping_raw", "VARCHAR"),
    ("currency", "VARCHAR"),
    ("in_stock", "BOOLEAN"),
    ("stock_qty", "INTEGER"),
    ("seller", "VARCHAR"),
    ("store", "VARCHAR"),
    ("distance_km", "DOUBLE"),
    ("delivery_hours", "DOUBLE"),
    ("delivery_raw", "VARCHAR"),
    ("image", "VARCHAR"),
    ("observed_at", "TIMESTAMPTZ"),
    ("latitude", "DOUBLE"),
    ("longitude", "DOUBLE"),
    ("delivery_radius_km", "DOUBLE"),
    ("promotions", "VARCHAR[]"),
)
"""The columns of ``staging_offers`` and ``offers`` that come from an ``Offer`` (name, DuckDB type)."""

OFFER_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in OFFER_COLUMNS)
OFFER_KEY_COLUMNS: tuple[str, ...] = ("marketplace", "listing_id")


UNKNOWN_SHIPPING_POLICIES = ("flag", "exclude")
"""What "lowest landed price" does with an offer whose shipping fee is unknown: ``flag`` ranks it by its
price alone (a lower bound) and marks it, ``exclude`` leaves it out of the ranking."""


def effective_price(table: str = "") -> str:
    """SQL for the price after coupon (券后价), else the price: ``coalesce(t.final_price, t.price)``."""
    p = f"{table}." if table else ""
    return f"coalesce({p}final_price, {p}price)"


def landed_price(table: str = "") -> str:
    """SQL for what one unit delivered costs: the effective price plus shipping; NULL when the shipping fee
    is unknown (never counted as 0)."""
    p = f"{table}." if table else ""
    return f"({effective_price(table)} + {p}shipping)"


def ranking_price(table: str = "", unknown_shipping: str = "flag") -> str:
    """SQL for the price that ranks offers for "lowest landed price": the landed price; with shipping
    unknown, the effective price (``flag``: a lower bound, shown flagged) or NULL (``exclude``: unranked)."""
    if unknown_shipping not in UNKNOWN_SHIPPING_POLICIES:
        raise ValueError(f"unknown_shipping: {unknown_shipping!r} (flag or exclude)")
    if unknown_shipping == "exclude":
        return landed_price(table)
    return f"coalesce({landed_price(table)}, {effective_price(table)})"
