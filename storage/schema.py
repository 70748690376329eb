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


def effective_price(table: str = "") -> str:
    """SQL for the price after coupon (券后价), else the price: ``coalesce(t.final_price, t.price)``."""
    p = f"{table}." if table else ""
    return f"coalesce({p}final_price, {p}price)"


def landed_price(table: str = "") -> str:
    """SQL for what one unit delivered costs: the effective price plus shipping (unknown shipping as 0)."""
    p = f"{table}." if table else ""
    return f"{effective_price(table)} + coalesce({p}shipping, 0)"
