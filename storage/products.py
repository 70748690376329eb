"""Reading offers for the matcher and saving its groups as products with stable ids."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from storage.db import rollback
from storage.schema import effective_price


@dataclass(frozen=True)
class OfferRow:
    """What the matcher needs of a stored offer."""

    key: str
    marketplace: str
    title: str
    brand: str | None
    gtin: str | None
    mpn: str | None
    attributes: dict[str, str]
    price: float | None
    category: str | None


def offers_for_matching(con: duckdb.DuckDBPyConnection) -> list[OfferRow]:
    rows = con.execute(
        "SELECT marketplace, listing_id, title, brand, gtin, mpn, attributes, "
        f"CAST({effective_price()} AS DOUBLE), category FROM offers WHERE NOT gone "
        "ORDER BY marketplace, listing_id"
    ).fetchall()
    return [
        OfferRow(f"{m}/{lid}", m, title, brand, gtin, mpn, json.loads(attrs) if attrs else {}, price, cat)
        for m, lid, title, brand, gtin, mpn, attrs, price, cat in rows
    ]


def previous_product_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute("SELECT marketplace || '/' || listing_id, product_id FROM product_offers").fetchall()
    return dict(rows)


@dataclass(frozen=True)
class SavedGroup:
    product_id: str
    members: Sequence[str]
    confidence: float
    methods: dict[str, str]


def save_products(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    groups: Sequence[SavedGroup],
    titles: dict[str, tuple[str, str | None, str | None]],
) -> None:
    """Replace the product grouping in one transaction. ``titles``: product_id → (title, brand, category).

    Products keep ``created_at`` across runs; products no longer used by any group are removed.
    """
    now = datetime.now(UTC)
    keys: list[str] = []
    pids: list[str] = []
    confs: list[float] = []
    methods: list[str] = []
    for g in groups:
        for key in g.members:
            keys.append(key)
            pids.append(g.product_id)
            confs.append(float(g.confidence))
            methods.append(g.methods.get(key, ""))
    marketplaces = [k.split("/", 1)[0] for k in keys]
    listings = [k.split("/", 1)[1] for k in keys]
    product_ids = [g.product_id for g in groups]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM product_offers")
        con.execute(
            "INSERT INTO product_offers SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
            "unnest(?::VARCHAR[]), unnest(?::DOUBLE[]), unnest(?::VARCHAR[])",
            [marketplaces, listings, pids, confs, methods],
        )
        con.execute("DELETE FROM products WHERE NOT list_contains(?, product_id)", [product_ids])
        con.execute(
            "INSERT INTO products SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
            "unnest(?::VARCHAR[]), ?, ?, ? ON CONFLICT (product_id) DO UPDATE SET title = excluded.title, "
            "brand = excluded.brand, category = excluded.category, updated_at = excluded.updated_at, "
            "match_run_id = excluded.match_run_id",
            [
                product_ids,
                [titles[p][0] for p in product_ids],
                [titles[p][1] for p in product_ids],
                [titles[p][2] for p in product_ids],
                now,
                now,
                run_id,
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def overrides(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute("SELECT key_a, key_b, decision FROM match_overrides ORDER BY decided_at").fetchall()


def add_override(
    con: duckdb.DuckDBPyConnection, key_a: str, key_b: str, decision: str, note: str | None = None
) -> None:
    a, b = sorted((key_a, key_b))
    con.execute(
        "INSERT INTO match_overrides VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_a, key_b) DO UPDATE "
        "SET decision = excluded.decision, decided_at = excluded.decided_at, note = excluded.note",
        [a, b, decision, datetime.now(UTC), note],
    )


def save_review(
    con: duckdb.DuckDBPyConnection, run_id: str, pairs: Sequence[tuple[str, str, float, str]]
) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM match_review")
        if pairs:
            a, b, s, r = (
                list(x)
                for x in zip(*[(min(p[0], p[1]), max(p[0], p[1]), p[2], p[3]) for p in pairs], strict=True)
            )
            con.execute(
                "INSERT INTO match_review SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
                "unnest(?::DOUBLE[]), unnest(?::VARCHAR[]), ? ON CONFLICT DO NOTHING",
                [a, b, s, r, run_id],
            )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
