"""The comparison: per product, each marketplace's best landed price, the lowest, where, and the saving.

Landed price = final price after coupon (else price) + shipping. Only offers in stock (or of unknown stock)
and not gone count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb

from storage.schema import landed_price

_LANDED = landed_price("o")


@dataclass
class MarketplaceBest:
    marketplace: str
    landed_price: Decimal
    listing_id: str
    title: str
    url: str | None
    delivery_hours: float | None
    observed_at: datetime


@dataclass
class ComparisonRow:
    product_id: str
    title: str
    brand: str | None
    offers: int
    best: list[MarketplaceBest] = field(default_factory=list)
    """One entry per marketplace, cheapest first."""

    @property
    def lowest(self) -> MarketplaceBest:
        return self.best[0]

    @property
    def dearest(self) -> MarketplaceBest:
        return self.best[-1]

    @property
    def saving(self) -> Decimal:
        """How much the cheapest marketplace saves against the dearest one."""
        return self.dearest.landed_price - self.lowest.landed_price

    def to_dict(self) -> dict:
        return {
            "product_id": self.product_id,
            "title": self.title,
            "brand": self.brand,
            "offers": self.offers,
            "lowest_price": str(self.lowest.landed_price),
            "lowest_marketplace": self.lowest.marketplace,
            "saving": str(self.saving),
            "marketplaces": {b.marketplace: str(b.landed_price) for b in self.best},
            "best": [
                {
                    "marketplace": b.marketplace,
                    "landed_price": str(b.landed_price),
                    "listing_id": b.listing_id,
                    "title": b.title,
                    "url": b.url,
                    "delivery_hours": b.delivery_hours,
                    "observed_at": b.observed_at.isoformat(),
                }
                for b in self.best
            ],
        }


def compare(
    con: duckdb.DuckDBPyConnection,
    query: str | None = None,
    *,
    min_marketplaces: int = 1,
    limit: int | None = None,
    product_ids: list[str] | None = None,
) -> list[ComparisonRow]:
    """Comparison rows, the biggest saving first. ``query``: every word must occur in a member's title."""
    where = ["NOT o.gone", "coalesce(o.in_stock, true)"]
    params: list[Any] = []
    for word in (query or "").split():
        where.append(
            "po.product_id IN (SELECT po2.product_id FROM product_offers po2 JOIN offers o2 "
            "USING (marketplace, listing_id) WHERE o2.title ILIKE ? OR o2.brand ILIKE ?)"
        )
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [like, like]
    if product_ids is not None:
        where.append("list_contains(?, po.product_id)")
        params.append(product_ids)
    sql = f"""
        WITH ranked AS (
            SELECT po.product_id, o.marketplace, o.listing_id, o.title, o.url, o.delivery_hours,
                   o.observed_at, {_LANDED} AS landed,
                   row_number() OVER (PARTITION BY po.product_id, o.marketplace
                                      ORDER BY {_LANDED}, o.delivery_hours NULLS LAST, o.listing_id) AS rn
            FROM product_offers po JOIN offers o USING (marketplace, listing_id)
            WHERE {" AND ".join(where)}
        ), counts AS (
            SELECT product_id, count(*) AS n FROM ranked GROUP BY product_id
        )
        SELECT r.product_id, p.title, p.brand, c.n, r.marketplace, r.landed, r.listing_id, r.title, r.url,
               r.delivery_hours, r.observed_at
        FROM ranked r JOIN products p USING (product_id) JOIN counts c USING (product_id)
        WHERE r.rn = 1
        ORDER BY r.product_id, r.landed, r.marketplace
    """
    rows: dict[str, ComparisonRow] = {}
    for pid, ptitle, brand, n, market, landed, lid, title, url, hours, seen in con.execute(
        sql, params
    ).fetchall():
        row = rows.get(pid)
        if row is None:
            row = rows[pid] = ComparisonRow(pid, ptitle, brand, n)
        row.best.append(MarketplaceBest(market, landed, lid, title, url, hours, seen))
    result = [r for r in rows.values() if len(r.best) >= min_marketplaces]
    result.sort(key=lambda r: (-len(r.best), -r.saving, r.title))
    return result[:limit] if limit else result
