"""Read queries over a published snapshot's ``api_*`` tables (see ``storage.snapshots``), for the API.

Every value is a bound parameter. Functions take a cursor and return plain data; ``None`` means not found.
Money comes out as ``Decimal``; dates and times as ISO strings or ``date``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

MAX_TERMS = 12
_TOKEN_RE = re.compile(r"[a-z]+|[0-9]+|[\u3400-\u9fff\uf900-\ufaff]+")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOP = "\U0010ffff"
SEARCH_COLUMNS = ("product_id", "title", "brand", "category", "offers", "marketplaces", "lowest_price",
                  "lowest_marketplace", "highest_price", "low_30d", "low_all_time", "last_observed")
_SEARCH_SELECT = ("product_id, title, brand, category, offers, marketplaces, lowest, lowest_marketplace, "
                  "highest, low_30d, low_all, last_observed, summary, sort_price")
OFFER_COLUMNS = ("rank", "marketplace", "listing_id", "title", "landed_price", "price", "final_price", "shipping",
                 "currency", "in_stock", "delivery_hours", "observed_at", "stale", "url", "seller", "store")
_OFFER_SELECT = ("rank, marketplace, listing_id, title, landed, price, final_price, shipping, currency, "
                 "in_stock, delivery_hours, observed_iso, missed_runs > 0, url, seller, store")


@dataclass
class Table:
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class SearchPage:
    table: Table
    summaries: list[str]
    """Each item's product summary as a JSON object (the same shape as ``product`` of a product page)."""
    next_key: tuple | None
    """Keyset to continue after (``(product_id,)`` or ``(sort_price, product_id)``), ``None`` at the end."""


def query_terms(text: str) -> list[tuple[str, str | None]]:
    """The search terms of a query: ``(token, None)`` to match exactly, ``(low, high)`` for a prefix range.

    Normalised like the index (NFKC, lower case); Latin words match as prefixes, numbers exactly (the last
    term as a prefix too, for search-as-you-type), CJK runs by their bigrams (a lone character as a prefix).
    """
    tokens = _TOKEN_RE.findall(unicodedata.normalize("NFKC", text).lower())
    terms: list[tuple[str, str | None]] = []
    for n, tok in enumerate(tokens):
        last = n == len(tokens) - 1
        if _CJK_RE.match(tok):
            if len(tok) == 1:
                terms.append((tok, tok + _TOP))
            terms.extend((tok[i:i + 2], None) for i in range(len(tok) - 1))
        elif tok.isdigit() and not last:
            terms.append((tok, None))
        else:
            terms.append((tok, tok + _TOP))
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def search_products(con: duckdb.DuckDBPyConnection, text: str | None = None, *, brand: str | None = None,
                    category: str | None = None, sort: str = "id", after: tuple | None = None,
                    limit: int = 20) -> SearchPage:
    """Products whose own or member offers' titles contain every term, filtered, in keyset pages."""
    where: list[str] = []
    params: list[Any] = []
    terms = query_terms(text or "")
    if terms:
        branches = []
        for low, high in terms:
            branches.append("SELECT pkey FROM api_search WHERE " +
                            ("token = ?" if high is None else "token >= ? AND token < ?"))
            params += [low] if high is None else [low, high]
        where.append(f"pkey IN ({' INTERSECT '.join(branches)})")
    for column, value in (("brand_key", brand), ("category_key", category)):
        if value:
            where.append(f"{column} = ?")
            params.append(value.strip().lower())
    if sort == "price":
        order = "sort_price, product_id"
        if after:
            where.append("(sort_price > ? OR (sort_price = ? AND product_id > ?))")
            params += [after[0], after[0], after[1]]
    else:
        order = "product_id"
        if after:
            where.append("product_id > ?")
            params.append(after[0])
    sql = (f"SELECT {_SEARCH_SELECT} FROM api_products {'WHERE ' + ' AND '.join(where) if where else ''} "
           f"ORDER BY {order} LIMIT ?")
    rows = con.execute(sql, [*params, limit + 1]).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    next_key = None
    if more:
        last = rows[-1]
        next_key = (str(last[13]), last[0]) if sort == "price" else (last[0],)
    return SearchPage(Table(SEARCH_COLUMNS, [r[:12] for r in rows]), [r[12] for r in rows], next_key)


def product_page(con: duckdb.DuckDBPyConnection, product_id: str) -> str | None:
    """The product with every live offer ranked (available, fresh, cheapest landed first), as JSON text."""
    row = con.execute("SELECT page FROM api_products WHERE product_id = ?", [product_id]).fetchone()
    return row[0] if row else None


def product_offers(con: duckdb.DuckDBPyConnection, product_id: str) -> Table | None:
    pkey = _pkey(con, product_id)
    if pkey is None:
        return None
    rows = con.execute(f"SELECT {_OFFER_SELECT} FROM api_offers WHERE pkey = ? ORDER BY rank", [pkey]).fetchall()
    return Table(OFFER_COLUMNS, rows)


def compare_products(con: duckdb.DuckDBPyConnection, product_ids: list[str]) -> tuple[Table, list[str], list[str]]:
    """Each product's best offer per marketplace: (table, product summaries as JSON, missing ids)."""
    found = con.execute("SELECT product_id, summary FROM api_products WHERE list_contains(?, product_id)",
                        [product_ids]).fetchall()
    summaries = dict(found)
    rows = con.execute(
        "SELECT p.product_id, p.title, o.marketplace, o.landed, o.landed = p.lowest, o.listing_id, o.title, "
        "o.in_stock, o.delivery_hours, o.observed_iso, o.url "
        "FROM api_products p JOIN api_offers o USING (pkey) WHERE list_contains(?, p.product_id) "
        "QUALIFY row_number() OVER (PARTITION BY o.pkey, o.marketplace ORDER BY o.rank) = 1 "
        "ORDER BY p.product_id, o.rank", [product_ids]).fetchall()
    order = {pid: i for i, pid in enumerate(product_ids)}
    rows.sort(key=lambda r: order[r[0]])
    table = Table(("product_id", "product_title", "marketplace", "landed_price", "is_lowest", "listing_id",
                   "title", "in_stock", "delivery_hours", "observed_at", "url"), rows)
    present = [summaries[p] for p in dict.fromkeys(product_ids) if p in summaries]
    return table, present, [p for p in dict.fromkeys(product_ids) if p not in summaries]


@dataclass
class History:
    low_30d: Any
    low_all_time: Any
    table: Table


def product_history(con: duckdb.DuckDBPyConnection, product_id: str, days: int) -> History | None:
    """Daily lows of a product's landed price (over its member offers), with the 30-day and all-time low."""
    row = con.execute("SELECT pkey, low_30d, low_all FROM api_products WHERE product_id = ?",
                      [product_id]).fetchone()
    if row is None:
        return None
    rows = con.execute("SELECT day, low, marketplace FROM api_product_daily WHERE pkey = ? AND day >= ? "
                       "ORDER BY day", [row[0], _since(con, days)]).fetchall()
    return History(row[1], row[2], Table(("date", "low", "marketplace"), rows))


def offer_history(con: duckdb.DuckDBPyConnection, marketplace: str, listing_id: str, days: int) -> History | None:
    """Daily low and high landed price of one offer, with its 30-day and all-time low."""
    exists = con.execute("SELECT 1 FROM offers WHERE marketplace = ? AND listing_id = ?",
                         [marketplace, listing_id]).fetchone()
    if exists is None:
        return None
    rows = con.execute("SELECT day, low, high, observations FROM api_offer_daily "
                       "WHERE marketplace = ? AND listing_id = ? ORDER BY day", [marketplace, listing_id]).fetchall()
    today, since = _today(con), _since(con, days)
    low_all = min((r[1] for r in rows), default=None)
    low_30d = min((r[1] for r in rows if r[0] > today - timedelta(days=30)), default=None)
    return History(low_30d, low_all, Table(("date", "low", "high", "observations"), [r for r in rows if r[0] >= since]))


def offer_product_id(con: duckdb.DuckDBPyConnection, marketplace: str, listing_id: str) -> str | None:
    row = con.execute("SELECT product_id FROM product_offers WHERE marketplace = ? AND listing_id = ?",
                      [marketplace, listing_id]).fetchone()
    return row[0] if row else None


def marketplaces(con: duckdb.DuckDBPyConnection) -> Table:
    rows = con.execute("SELECT marketplace, offers, gone_offers, last_success, last_success_run, last_attempt, "
                       "last_attempt_status, last_observed FROM api_marketplaces ORDER BY marketplace").fetchall()
    return Table(("marketplace", "offers", "gone_offers", "last_success", "last_success_run", "last_attempt",
                  "last_attempt_status", "last_observed"), rows)


def snapshot_info(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    sid, fmt = con.execute("SELECT snapshot_id, format FROM api_meta").fetchone()
    (products,) = con.execute("SELECT count(*) FROM api_products").fetchone()
    (offers,) = con.execute("SELECT count(*) FROM api_offers").fetchone()
    return {"snapshot_id": sid, "format": fmt, "products": products, "offers": offers}


def _pkey(con: duckdb.DuckDBPyConnection, product_id: str) -> int | None:
    row = con.execute("SELECT pkey FROM api_products WHERE product_id = ?", [product_id]).fetchone()
    return row[0] if row else None


def _today(con: duckdb.DuckDBPyConnection) -> date:
    (day,) = con.execute("SELECT published_day FROM api_meta").fetchone()
    return day


def _since(con: duckdb.DuckDBPyConnection, days: int) -> date:
    return _today(con) - timedelta(days=days - 1)
