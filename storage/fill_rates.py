"""How often each offer field is filled, per marketplace, in the offers the last runs stored: the baseline
``bijia marketplaces check`` compares a fresh sample with (a field that falls is layout drift)."""

from __future__ import annotations

import duckdb

FILL_FIELDS: tuple[str, ...] = (
    "title",
    "price",
    "final_price",
    "list_price",
    "shipping",
    "currency",
    "in_stock",
    "seller",
    "delivery_hours",
    "gtin",
    "brand",
    "image",
)
"""The fields whose fill rate is measured (the offer columns of the same names)."""


def fill_rates(con: duckdb.DuckDBPyConnection, marketplace: str) -> dict[str, float] | None:
    """``{field: share of the marketplace's current offers that have it}``; ``None`` without offers."""
    counts = ", ".join(f"count(nullif(CAST({f} AS VARCHAR), ''))" for f in FILL_FIELDS)
    row = con.execute(
        f"SELECT count(*), {counts} FROM offers WHERE marketplace = ? AND NOT gone",
        [marketplace],
    ).fetchone()
    if row is None or not row[0]:
        return None
    total = row[0]
    return {name: n / total for name, n in zip(FILL_FIELDS, row[1:], strict=True)}
