"""Reads of the working database for the CLI: the comparison, one product's offers, and search.

Landed price = final price after coupon (else price) + shipping; shipping unknown is unknown (``flag``:
ranked by the price alone and marked, ``exclude``: not ranked). Prices are converted into the display
currency for ranking (``storage.rates``); an offer without a usable rate is listed apart, never ranked.
Only offers in stock (or of unknown stock) and not gone take part in the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np

from storage.history import PriceFacts
from storage.rates import Conversion, conversion_rows, conversions, get_settings
from storage.schema import effective_price, landed_price, ranking_price
from storage.search import SearchIndex, Synonyms, build_postings
from storage.search_rank import Criteria, find


@dataclass
class OfferView:
    """One offer as the CLI shows it: its own prices and currency, and its price in the display currency."""

    marketplace: str
    listing_id: str
    title: str
    url: str | None
    currency: str | None
    price: Decimal
    final_price: Decimal | None
    shipping: Decimal | None
    landed_price: Decimal | None
    display_price: Decimal | None
    """The ranking price converted; ``None``: no usable rate (or shipping unknown under ``exclude``)."""
    rate: Decimal | None
    in_stock: bool | None
    stock_qty: int | None
    delivery_hours: float | None
    delivery_text: str | None
    store: str | None
    seller: str | None
    distance_km: float | None
    image: str | None
    observed_at: datetime
    gone: bool = False

    @property
    def shipping_unknown(self) -> bool:
        return self.shipping is None

    def cell(self) -> str:
        """``5999.00``, ``5999.00+?`` (shipping unknown: a lower bound), or the own-currency price apart."""
        if self.display_price is None:
            return f"{self.currency or '?'} {self.landed_price or self.price}"
        return f"{self.display_price}{'+?' if self.shipping_unknown else ''}"


@dataclass
class ComparisonRow:
    product_id: str
    title: str
    brand: str | None
    offers: int
    best: list[OfferView] = field(default_factory=list)
    """One entry per marketplace, cheapest first (display currency)."""
    apart: list[OfferView] = field(default_factory=list)
    """Offers without a usable rate: shown, never ranked."""
    facts: PriceFacts | None = None

    @property
    def lowest(self) -> OfferView:
        return self.best[0]

    @property
    def dearest(self) -> OfferView:
        return self.best[-1]

    @property
    def saving(self) -> Decimal | None:
        """How much the cheapest marketplace saves against the dearest one (display currency)."""
        if not self.best or self.lowest.display_price is None or self.dearest.display_price is None:
            return None
        return self.dearest.display_price - self.lowest.display_price

    def to_dict(self) -> dict[str, Any]:
        lowest = self.best[0] if self.best else None
        return {
            "product_id": self.product_id,
            "title": self.title,
            "brand": self.brand,
            "offers": self.offers,
            "lowest_price": str(lowest.display_price) if lowest else None,
            "lowest_marketplace": lowest.marketplace if lowest else None,
            "lowest_shipping_unknown": lowest.shipping_unknown if lowest else None,
            "saving": None if self.saving is None else str(self.saving),
            "marketplaces": {b.marketplace: str(b.display_price) for b in self.best},
            "best": [offer_dict(b) for b in self.best],
            "apart": [offer_dict(b) for b in self.apart],
            "facts": self.facts.to_dict() if self.facts else None,
        }


def offer_dict(offer: OfferView) -> dict[str, Any]:
    out = {
        k: (str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, datetime) else v)
        for k, v in offer.__dict__.items()
    }
    return out | {"shipping_unknown": offer.shipping_unknown}


_OFFER_SELECT = """o.marketplace, o.listing_id, o.title, o.url, o.currency, o.price, o.final_price, o.shipping,
    {landed} AS landed, round({ranking} * fx.rate, 2) AS display_price, fx.rate, o.in_stock, o.stock_qty,
    o.delivery_hours, o.delivery_raw, o.store, o.seller, o.distance_km, o.image, o.observed_at, o.gone"""


def _offer_select(unknown_shipping: str) -> str:
    return _OFFER_SELECT.format(landed=landed_price("o"), ranking=ranking_price("o", unknown_shipping))


def compare(
    con: duckdb.DuckDBPyConnection,
    query: str | None = None,
    *,
    conv: dict[str, Conversion] | None = None,
    unknown_shipping: str = "flag",
    product_ids: list[str] | None = None,
    min_marketplaces: int = 1,
    limit: int | None = None,
    synonyms: Synonyms | None = None,
) -> list[ComparisonRow]:
    """Comparison rows: those matching ``query`` (see :func:`search`) most relevant first, or those of
    ``product_ids`` in that order, else all with the most marketplaces and biggest saving first. Each
    marketplace's best live offer (by display price) and the offers apart. ``conv``: the conversions into
    the display currency (default: the stored display currency's, today)."""
    if query and query.strip():
        product_ids = search(con, query, synonyms)
    if conv is None:
        conv = conversions(con, get_settings(con).display_currency, datetime.now(UTC).date())
    fx_sql, params = conversion_rows(conv)
    only = ""
    if product_ids is not None:
        only, params["ids"] = "AND list_contains($ids, po.product_id)", product_ids
    rows = con.execute(
        f"""
        WITH fx AS ({fx_sql}), ranked AS (
            SELECT po.product_id, {_offer_select(unknown_shipping)},
                   row_number() OVER (PARTITION BY po.product_id, o.marketplace, fx.rate IS NULL
                                      ORDER BY {ranking_price("o", unknown_shipping)} * fx.rate NULLS LAST,
                                               o.delivery_hours NULLS LAST, o.listing_id) AS rn
            FROM product_offers po JOIN offers o USING (marketplace, listing_id)
            LEFT JOIN fx ON fx.currency = o.currency
            WHERE NOT o.gone AND coalesce(o.in_stock, true) {only}
        ), counts AS (SELECT product_id, count(*) AS n FROM ranked GROUP BY product_id)
        SELECT r.* EXCLUDE (rn), p.title, p.brand, c.n
        FROM ranked r JOIN products p USING (product_id) JOIN counts c USING (product_id)
        WHERE r.rn = 1 ORDER BY r.product_id, r.display_price NULLS LAST, r.marketplace""",
        params,
    ).fetchall()
    found: dict[str, ComparisonRow] = {}
    for pid, *offer, ptitle, brand, n in rows:
        row = found.setdefault(pid, ComparisonRow(pid, ptitle, brand, n))
        view = OfferView(*offer)
        (row.apart if view.rate is None else row.best).append(view)
    for row in found.values():  # excluded (unranked) offers keep their place after the ranked ones
        row.apart += [b for b in row.best if b.display_price is None]
        row.best = [b for b in row.best if b.display_price is not None]
    searched = product_ids is not None  # a product asked for is shown even when all its offers are apart
    result = [r for r in found.values() if len(r.best) >= min_marketplaces or (searched and not r.best)]
    if product_ids is not None:
        position = {pid: n for n, pid in enumerate(product_ids)}
        result.sort(key=lambda r: position[r.product_id])
    else:
        result.sort(key=lambda r: (-len(r.best), -(r.saving or 0), r.title))
    return result[:limit] if limit else result


def product_offers(
    con: duckdb.DuckDBPyConnection,
    product_id: str,
    conv: dict[str, Conversion],
    unknown_shipping: str = "flag",
) -> list[OfferView]:
    """Every offer of a product, gone ones last: available first, then by display price."""
    fx_sql, params = conversion_rows(conv)
    rows = con.execute(
        f"""WITH fx AS ({fx_sql})
        SELECT {_offer_select(unknown_shipping)}
        FROM product_offers po JOIN offers o USING (marketplace, listing_id) LEFT JOIN fx ON fx.currency = o.currency
        WHERE po.product_id = $pid
        ORDER BY o.gone, coalesce(o.in_stock, true) DESC, display_price NULLS LAST, {effective_price("o")},
                 o.marketplace, o.listing_id""",
        {**params, "pid": product_id},
    ).fetchall()
    return [OfferView(*r) for r in rows]


def product_row(con: duckdb.DuckDBPyConnection, product_id: str) -> tuple[str, str | None, str | None] | None:
    """(title, brand, category) of a product, or ``None``."""
    return con.execute(
        "SELECT title, brand, category FROM products WHERE product_id = ?", [product_id]
    ).fetchone()


_WORKING_DOCS = """
    SELECT k.pkey, 't' AS kind, p.title AS text FROM products p JOIN w_pk k USING (product_id)
    UNION ALL SELECT k.pkey, 'b', p.brand FROM products p JOIN w_pk k USING (product_id)
    UNION ALL SELECT k.pkey, 'c', p.category FROM products p JOIN w_pk k USING (product_id)
    UNION ALL SELECT k.pkey, unnest(['t', 'b', 'c', 'g', 'm']),
                     unnest([o.title, o.brand, o.category, o.gtin, o.mpn])
    FROM product_offers po JOIN offers o USING (marketplace, listing_id) JOIN w_pk k USING (product_id)
    WHERE NOT o.gone"""


def search(con: duckdb.DuckDBPyConnection, text: str, synonyms: Synonyms | None = None) -> list[str]:
    """Product ids matching ``text`` (``storage.search``'s rules, as the API applies them to a snapshot),
    the most relevant first. Builds the index in temporary tables: a second or so per 100,000 offers."""
    con.execute("DROP TABLE IF EXISTS w_pk")
    con.execute("DROP TABLE IF EXISTS w_search")
    con.execute(
        "CREATE TEMP TABLE w_pk AS SELECT product_id, CAST(row_number() OVER (ORDER BY product_id) AS INTEGER) "
        "AS pkey, 0::BIGINT AS sort_cents, 0::BIGINT AS saving_cents FROM products"
    )
    build_postings(con, "w_search", _WORKING_DOCS, temp=True)
    index = SearchIndex(con, "w_search", "w_pk")
    found = find(index, Criteria(text), synonyms)
    if found.hits is None or not len(found.hits):
        return []
    order = (
        np.lexsort((found.hits, -found.scores)) if found.scores is not None else np.arange(len(found.hits))
    )
    keys = [int(k) for k in found.hits[order]]
    ids = dict(
        con.execute("SELECT pkey, product_id FROM w_pk WHERE list_contains(?, pkey)", [keys]).fetchall()
    )
    return [ids[k] for k in keys]


def shipping_fill_rates(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Per marketplace: (live offers with a known shipping fee, live offers) — for ``marketplaces check``
    and anyone asking how far "lowest landed price" can be trusted for a shop."""
    rows = con.execute(
        "SELECT marketplace, count(shipping), count(*) FROM offers WHERE NOT gone GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {market: (known, total) for market, known, total in rows}
