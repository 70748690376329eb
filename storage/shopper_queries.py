"""What shopper decisions read: every live offer of some products, with its store, delivery and promotions —
from the working database or from a published snapshot's ``api_offers`` (the same columns)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb

from storage.schema import landed_price

OFFER_FIELDS = (
    "product_id",
    "marketplace",
    "listing_id",
    "title",
    "url",
    "seller",
    "store",
    "currency",
    "price",
    "final_price",
    "shipping",
    "landed_price",
    "in_stock",
    "delivery_hours",
    "latitude",
    "longitude",
    "delivery_radius_km",
    "promotions",
)
_SELECT = (
    "product_id, marketplace, listing_id, title, url, seller, store, currency, price, final_price, shipping, "
    "{landed} AS landed_price, in_stock, delivery_hours, latitude, longitude, delivery_radius_km, promotions"
)


def product_offers(con: duckdb.DuckDBPyConnection, product_ids: list[str]) -> list[dict[str, Any]]:
    """Working database: the live (not gone) offers of ``product_ids``, in product then landed-price order."""
    sql = (
        f"SELECT {_SELECT.format(landed=landed_price('o'))} FROM product_offers po "
        "JOIN offers o USING (marketplace, listing_id) "
        "WHERE NOT o.gone AND list_contains(?, po.product_id) ORDER BY product_id, landed_price, marketplace, listing_id"
    )
    return _dicts(con.execute(sql, [list(product_ids)]).fetchall())


def snapshot_product_offers(con: duckdb.DuckDBPyConnection, product_ids: list[str]) -> list[dict[str, Any]]:
    """Published snapshot: the same rows from ``api_offers`` (one index lookup per product)."""
    rows: list[tuple] = []
    for pid in dict.fromkeys(product_ids):
        found = con.execute("SELECT pkey FROM api_products WHERE product_id = ?", [pid]).fetchone()
        if found is not None:  # `pkey = constant`: DuckDB scans the index only for a constant
            rows += con.execute(
                f"SELECT {_SELECT.format(landed='landed')} FROM api_offers WHERE pkey = ? ORDER BY rank",
                [found[0]],
            ).fetchall()
    return _dicts(rows)


def product_titles(
    con: duckdb.DuckDBPyConnection, product_ids: list[str], *, snapshot: bool = False
) -> dict[str, str]:
    """``{product_id: title}`` from the working database's ``products`` (or a snapshot's ``api_products``)."""
    if not product_ids:
        return {}
    table = "api_products" if snapshot else "products"
    rows = con.execute(
        f"SELECT product_id, title FROM {table} WHERE list_contains(?, product_id)", [list(product_ids)]
    ).fetchall()
    return dict(rows)


def _dicts(rows: list[tuple]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item = dict(zip(OFFER_FIELDS, row, strict=True))
        item["promotions"] = list(item["promotions"] or [])
        if isinstance(item["landed_price"], Decimal):
            item["landed_price"] = item["landed_price"].quantize(Decimal("0.01"))
        out.append(item)
    return out
