"""Price history facts ("real discount") and the lifecycle of offers that stop showing up.

Prices are landed prices (final price after coupon, else price, plus shipping) of observations that were
buyable (in stock or of unknown stock), read from the append-only ``prices`` table.

"Real discount" (the EU Omnibus rule, 30 days): a product's price *now* is its cheapest live offer; it
has been at that price *since* the first observation of that offer's current unbroken streak at that
price; the *30-day low* is the lowest price any member offer showed in the 30 days before *since* (so a
price cut stays a real discount on every run while it lasts, and a price that merely returns to a
recent low is not one). ``is_real_discount``: price now < 30-day low.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from storage.db import one_row
from storage.schema import landed_price

WINDOW = timedelta(days=30)


@dataclass
class DiscountFacts:
    product_id: str
    price_now: Decimal | None
    marketplace: str | None
    listing_id: str | None
    since: datetime | None
    low_30d: Decimal | None
    """Lowest price in the 30 days before ``since``; ``None`` when there is no observation then."""
    low_all_time: Decimal | None
    is_real_discount: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, datetime) else v)
            for k, v in self.__dict__.items()
        }


def discount_facts(
    con: duckdb.DuckDBPyConnection, product_ids: list[str] | None = None, *, now: datetime | None = None
) -> dict[str, DiscountFacts]:
    """Facts per product (all products, or those listed), as of ``now`` (default: the clock)."""
    now = now or datetime.now(UTC)
    landed_o, landed_p = landed_price("o"), landed_price("p")
    only = "AND list_contains(?, po.product_id)" if product_ids is not None else ""
    params: list[Any] = [product_ids] if product_ids is not None else []
    rows = con.execute(
        f"""
        WITH best AS (
            SELECT * FROM (
                SELECT po.product_id, o.marketplace, o.listing_id, {landed_o} AS landed,
                       row_number() OVER (PARTITION BY po.product_id
                                          ORDER BY {landed_o}, o.marketplace, o.listing_id) AS rn
                FROM product_offers po JOIN offers o USING (marketplace, listing_id)
                WHERE NOT o.gone AND coalesce(o.in_stock, true) {only}
            ) WHERE rn = 1
        ), obs AS (
            SELECT p.marketplace, p.listing_id, p.observed_at, {landed_p} AS landed,
                   coalesce(p.in_stock, true) AS buyable
            FROM prices p WHERE p.observed_at <= ?
        ), broken AS (   -- the best offer's last observation at another price (or not buyable)
            SELECT b.product_id, max(obs.observed_at) AS t
            FROM best b JOIN obs USING (marketplace, listing_id)
            WHERE obs.landed <> b.landed OR NOT obs.buyable GROUP BY 1
        ), since AS (
            SELECT b.product_id, min(obs.observed_at) AS since
            FROM best b JOIN obs USING (marketplace, listing_id) LEFT JOIN broken k USING (product_id)
            WHERE k.t IS NULL OR obs.observed_at > k.t GROUP BY 1
        ), members AS (
            SELECT po.product_id, obs.observed_at, obs.landed
            FROM product_offers po JOIN obs USING (marketplace, listing_id) WHERE obs.buyable {only}
        ), lows AS (
            SELECT m.product_id, min(m.landed) AS low_all,
                   min(m.landed) FILTER (WHERE m.observed_at >= s.since - INTERVAL 30 DAY
                                         AND m.observed_at < s.since) AS low_30d
            FROM members m LEFT JOIN since s USING (product_id) GROUP BY 1
        )
        SELECT p.product_id, b.landed, b.marketplace, b.listing_id, s.since, l.low_30d, l.low_all
        FROM products p LEFT JOIN best b USING (product_id) LEFT JOIN since s USING (product_id)
        LEFT JOIN lows l USING (product_id)
        WHERE {"list_contains(?, p.product_id)" if product_ids is not None else "true"}
        ORDER BY p.product_id
    """,
        [*params, now, *params, *params],
    ).fetchall()
    return {
        pid: DiscountFacts(
            pid,
            price,
            market,
            lid,
            since,
            low30,
            low_all,
            price is not None and low30 is not None and price < low30,
        )
        for pid, price, market, lid, since, low30, low_all in rows
    }


def price_history(
    con: duckdb.DuckDBPyConnection, product_id: str, *, days: int | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Every observation of the product's member offers (oldest first), optionally the last ``days``."""
    now = now or datetime.now(UTC)
    start = now - timedelta(days=days) if days else datetime(1970, 1, 1, tzinfo=UTC)
    rows = con.execute(
        f"""
        SELECT p.observed_at, p.marketplace, p.listing_id, p.run_id, p.price, p.final_price, p.shipping,
               {landed_price("p")} AS landed, p.in_stock
        FROM product_offers po JOIN prices p USING (marketplace, listing_id)
        WHERE po.product_id = ? AND p.observed_at BETWEEN ? AND ?
        ORDER BY p.observed_at, p.marketplace, p.listing_id
    """,
        [product_id, start, now],
    ).fetchall()
    names = (
        "observed_at",
        "marketplace",
        "listing_id",
        "run_id",
        "price",
        "final_price",
        "shipping",
        "landed_price",
        "in_stock",
    )
    return [dict(zip(names, r, strict=True)) for r in rows]


def mark_gone(con: duckdb.DuckDBPyConnection, marketplaces: list[str], after_runs: int) -> int:
    """Mark offers of ``marketplaces`` missed by ``after_runs`` or more runs in a row as gone (never
    deleted; seeing one again clears it). Returns how many were newly marked."""
    (count,) = one_row(
        con,
        "SELECT count(*) FROM offers WHERE list_contains(?, marketplace) AND NOT gone AND missed_runs >= ?",
        [marketplaces, after_runs],
    )
    if count:
        con.execute(
            "UPDATE offers SET gone = true WHERE list_contains(?, marketplace) AND NOT gone "
            "AND missed_runs >= ?",
            [marketplaces, after_runs],
        )
    return int(count)
