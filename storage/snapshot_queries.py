"""Read queries over a published snapshot's ``api_*`` tables (see ``storage.snapshots``), for the API.

Every value is a bound parameter. Functions take a cursor and return plain data; ``None`` means not found.
Money comes out as ``Decimal``; dates and times as ISO strings or ``date``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from storage.db import one_row
from storage.search import SearchIndex, Synonyms
from storage.search_rank import Criteria, find, select
from storage.snapshot_tables import offer_key

SEARCH_COLUMNS = (
    "product_id",
    "title",
    "brand",
    "category",
    "offers",
    "marketplaces",
    "currency",
    "lowest_price",
    "lowest_marketplace",
    "highest_price",
    "saving",
    "reference_price",
    "real_discount",
    "low_all_time",
    "last_observed",
)
_SEARCH_SELECT = (
    "product_id, title, brand, category, offers, marketplaces, currency, "
    "lowest, lowest_marketplace, highest, highest - lowest, reference, coalesce(price_now < reference, false), "
    "low_all, last_observed, summary"
)
OFFER_COLUMNS = (
    "rank",
    "marketplace",
    "listing_id",
    "title",
    "currency",
    "price",
    "final_price",
    "shipping",
    "landed_price",
    "display_price",
    "rate",
    "rate_date",
    "reference_price",
    "real_discount",
    "in_stock",
    "stock_qty",
    "delivery_hours",
    "store",
    "seller",
    "distance_km",
    "observed_at",
    "stale",
    "url",
)
_OFFER_SELECT = (
    "rank, marketplace, listing_id, title, currency, price, final_price, shipping, landed, display_price, "
    "rate, rate_date, reference, coalesce(price_now < reference, false), in_stock, stock_qty, delivery_hours, "
    "store, seller, distance_km, observed_iso, missed_runs > 0, "
    "CASE WHEN regexp_matches(url, '^https?://', 'i') THEN url END"
)


@dataclass
class Table:
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class SearchKey:
    """Where a page of search results ended: continue after it. ``pkey`` is only valid in ``snapshot_id``;
    in another snapshot ``product_id`` locates the same place; ``value`` is the last item's sort value."""

    snapshot_id: str
    pkey: int
    product_id: str
    value: float | None = None


@dataclass
class SearchPage:
    table: Table
    summaries: list[str]
    """Each item's product summary as a JSON object (the same shape as ``product`` of a product page)."""
    next_key: SearchKey | None
    """``None`` at the end."""
    total: int
    """How many products match (all pages)."""


def load_index(con: duckdb.DuckDBPyConnection) -> SearchIndex:
    """The snapshot's search index (load once per snapshot; ``snapshot_id`` set on it)."""
    index = SearchIndex(con, "api_search", "api_products")
    index.snapshot_id = one_row(con, "SELECT snapshot_id FROM api_meta")[0]
    return index


def search_products(
    con: duckdb.DuckDBPyConnection,
    criteria: Criteria,
    *,
    sort: str = "relevance",
    after: SearchKey | None = None,
    limit: int = 20,
    index: SearchIndex | None = None,
    synonyms: Synonyms | None = None,
    table: bool = True,
) -> SearchPage:
    """Products matching a text (every word, or a GTIN/model number) and filters, in keyset pages.

    Relevance without a text is the id order. Only the page's rows are read, through the ``pkey`` index
    (with ``table=False`` only their JSON summaries: the page's ``table`` is then empty)."""
    index = index or load_index(con)
    found = find(index, criteria, synonyms)
    cursor = None
    if after is not None:
        same = after.snapshot_id == index.snapshot_id
        cursor = (after.value or 0.0, after.pkey if same else _rank_of(con, after.product_id))
    chosen, last_value = select(index, found, sort, cursor, limit)
    columns = _SEARCH_SELECT if table else "product_id, summary"
    rows = _rows_by_pkey(con, chosen, columns)
    next_key = None
    if last_value is not None:
        next_key = SearchKey(index.snapshot_id, chosen[-1], rows[-1][0], last_value)
    width = len(SEARCH_COLUMNS)
    summaries = [r[width] if table else r[1] for r in rows]
    return SearchPage(
        Table(SEARCH_COLUMNS, [r[:width] for r in rows] if table else []),
        summaries,
        next_key,
        found.total(index),
    )


def _rows_by_pkey(con: duckdb.DuckDBPyConnection, pkeys: list[int], columns: str) -> list[tuple]:
    if not pkeys:
        return []
    rows = con.execute(
        f"SELECT {columns}, pkey FROM api_products WHERE pkey IN ({', '.join('?' * len(pkeys))})", pkeys
    ).fetchall()
    by_key = {r[-1]: r[:-1] for r in rows}
    return [by_key[k] for k in pkeys]


def _rank_of(con: duckdb.DuckDBPyConnection, product_id: str) -> int:
    """The pkey a product id has, or would have, in this snapshot (pkeys number products in id order)."""
    return one_row(con, "SELECT count(*) FROM api_products WHERE product_id <= ?", [product_id])[0]


def product_page(con: duckdb.DuckDBPyConnection, product_id: str) -> str | None:
    """The product with every live offer ranked (available, fresh, cheapest landed first), as JSON text."""
    row = con.execute("SELECT page FROM api_products WHERE product_id = ?", [product_id]).fetchone()
    return row[0] if row else None


def product_offers(con: duckdb.DuckDBPyConnection, product_id: str) -> Table | None:
    pkey = _pkey(con, product_id)
    if pkey is None:
        return None
    rows = con.execute(
        f"SELECT {_OFFER_SELECT} FROM api_offers WHERE pkey = ? ORDER BY rank", [pkey]
    ).fetchall()
    return Table(OFFER_COLUMNS, rows)


COMPARE_COLUMNS = (
    "product_id",
    "product_title",
    "marketplace",
    "display_price",
    "is_lowest",
    "currency",
    "landed_price",
    "shipping_known",
    "comparable",
    "listing_id",
    "title",
    "in_stock",
    "delivery_hours",
    "observed_at",
    "url",
)


def compare_products(
    con: duckdb.DuckDBPyConnection, product_ids: list[str]
) -> tuple[Table, list[str], list[str]]:
    """Each product's best offer per marketplace: (table, product summaries as JSON, missing ids).

    Read from the products' precomputed pages (one index lookup per product; their offers are already
    ranked), not from ``api_offers``: fetching ~10 offers' rows per product by row id decompresses the
    strings of each one's vector and cost ~10 ms for 5 products on a 5M-offer snapshot, the pages ~1 ms.
    """
    wanted = list(dict.fromkeys(product_ids))
    found = con.execute(
        f"SELECT product_id, summary, page FROM api_products "
        f"WHERE product_id IN ({', '.join('?' * len(wanted))})",
        wanted,
    ).fetchall()
    products = {r[0]: r for r in found}
    rows = []
    for pid in wanted:
        if pid in products:
            rows += _best_per_marketplace(pid, json.loads(products[pid][2]))
    return (
        Table(COMPARE_COLUMNS, rows),
        [products[p][1] for p in wanted if p in products],
        [p for p in wanted if p not in products],
    )


def _best_per_marketplace(pid: str, page: dict[str, Any]) -> list[tuple]:
    product, seen, rows = page["product"], set(), []
    for o in page["offers"]:  # ranked: the first offer of each marketplace is its best
        if o["marketplace"] in seen:
            continue
        seen.add(o["marketplace"])
        lowest = o["display_price"] is not None and o["display_price"] == product["lowest_price"]
        rows.append(
            (
                pid,
                product["title"],
                o["marketplace"],
                o["display_price"],
                lowest and o["marketplace"] == product["lowest_marketplace"],
                o["currency"],
                o["landed_price"],
                o["shipping_known"],
                o["comparable"],
                o["listing_id"],
                o["title"],
                o["in_stock"],
                o["delivery_hours"],
                o["observed_at"],
                o["url"],
            )
        )
    return rows


@dataclass
class History:
    facts: dict[str, Any]
    """``price_now``, ``price_since``, ``reference_price``, ``real_discount``, ``low_all_time`` (and
    ``currency``): ``storage.history``'s facts as the snapshot computed them."""
    table: Table
    product_id: str | None = None
    series: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)
    """Per marketplace, its daily lows (product history only)."""


def product_history(
    con: duckdb.DuckDBPyConnection, product_id: str, days: int, *, today: date
) -> History | None:
    """Daily lows of a product's price after coupon (display currency, over its member offers; the measure
    of the reference price), per marketplace and overall, with the reference facts. ``today``: the
    snapshot's day; ``days`` counts back from it."""
    row = con.execute(
        "SELECT pkey, price_now, since_day, reference, low_all, currency "
        "FROM api_products WHERE product_id = ?",
        [product_id],
    ).fetchone()
    if row is None:
        return None
    since = today - timedelta(days=days - 1)
    rows = con.execute(
        "SELECT day, marketplace, low FROM api_product_daily WHERE pkey = ? AND day >= ? ORDER BY day, low",
        [row[0], since],
    ).fetchall()
    series: dict[str, list[tuple[date, Decimal]]] = {}
    lows: dict[date, tuple[Decimal, str]] = {}
    for day, market, low in rows:
        series.setdefault(market, []).append((day, low))
        lows.setdefault(day, (low, market))  # ordered by low: the first is the day's lowest
    facts = _facts(row[1], row[2], row[3], row[4]) | {"currency": row[5]}
    table = Table(("date", "low", "marketplace"), [(d, low, m) for d, (low, m) in lows.items()])
    return History(facts, table, product_id, dict(sorted(series.items())))


def _facts(price_now: Any, since: Any, reference: Any, low_all: Any) -> dict[str, Any]:
    return {
        "price_now": price_now,
        "price_since": since,
        "reference_price": reference,
        "real_discount": price_now is not None and reference is not None and price_now < reference,
        "low_all_time": low_all,
    }


def offer_history(
    con: duckdb.DuckDBPyConnection, marketplace: str, listing_id: str, days: int, *, today: date
) -> History | None:
    """Daily low and high price after coupon of one offer (its own currency), with its reference facts."""
    found = con.execute(
        "SELECT okey, product_id, price_now, since, reference, low_all, currency FROM api_offer_keys "
        "WHERE offer_key = ?",
        [offer_key(marketplace, listing_id)],
    ).fetchone()
    if found is None:
        return None
    rows = con.execute(
        "SELECT day, low, high, observations FROM api_offer_daily WHERE okey = ? AND day >= ? ORDER BY day",
        [found[0], today - timedelta(days=days - 1)],
    ).fetchall()
    facts = _facts(*found[2:6]) | {"currency": found[6]}
    return History(facts, Table(("date", "low", "high", "observations"), rows), found[1])


def marketplaces(con: duckdb.DuckDBPyConnection) -> Table:
    rows = con.execute(
        "SELECT marketplace, offers, gone_offers, shipping_fill_rate, last_success, last_success_run, "
        "last_attempt, last_attempt_status, last_observed FROM api_marketplaces ORDER BY marketplace"
    ).fetchall()
    return Table(
        (
            "marketplace",
            "offers",
            "gone_offers",
            "shipping_fill_rate",
            "last_success",
            "last_success_run",
            "last_attempt",
            "last_attempt_status",
            "last_observed",
        ),
        rows,
    )


def snapshot_day(con: duckdb.DuckDBPyConnection) -> date:
    return one_row(con, "SELECT published_day FROM api_meta")[0]


def snapshot_info(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    sid, fmt = one_row(con, "SELECT snapshot_id, format FROM api_meta")
    (products,) = one_row(con, "SELECT count(*) FROM api_products")
    (offers,) = one_row(con, "SELECT count(*) FROM api_offers")
    return {"snapshot_id": sid, "format": fmt, "products": products, "offers": offers}


def _pkey(con: duckdb.DuckDBPyConnection, product_id: str) -> int | None:
    row = con.execute("SELECT pkey FROM api_products WHERE product_id = ?", [product_id]).fetchone()
    return row[0] if row else None
