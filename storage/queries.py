"""Read queries over a published snapshot's ``api_*`` tables (see ``storage.snapshots``), for the API.

Every value is a bound parameter. Functions take a cursor and return plain data; ``None`` means not found.
Money comes out as ``Decimal``; dates and times as ISO strings or ``date``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
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


@dataclass(frozen=True)
class SearchKey:
    """Where a page of search results ended: continue after it. ``pkey`` is only valid in ``snapshot_id``;
    in another snapshot ``product_id`` (and ``price``) locate the same place."""

    snapshot_id: str
    pkey: int
    product_id: str
    price: str | None = None


@dataclass
class SearchPage:
    table: Table
    summaries: list[str]
    """Each item's product summary as a JSON object (the same shape as ``product`` of a product page)."""
    next_key: SearchKey | None
    """``None`` at the end."""


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
                    category: str | None = None, sort: str = "id", after: SearchKey | None = None,
                    limit: int = 20) -> SearchPage:
    """Products whose own or member offers' titles contain every term, filtered, in keyset pages.

    Two steps: the page's keys from narrow columns (the token index, brand/category keys), then the rows of
    those keys through the ``pkey`` index — never a scan of the wide columns.
    """
    (snapshot_id,) = con.execute("SELECT snapshot_id FROM api_meta").fetchone()
    hits, params = _hits(query_terms(text or ""))
    where: list[str] = []
    for column, value in (("brand_key", brand), ("category_key", category)):
        if value:
            where.append(f"{column} = ?")
            params.append(value.strip().lower())
    if sort == "price":
        order = "sort_price, pkey"
        if after and after.snapshot_id == snapshot_id:
            where.append("(sort_price > ? OR (sort_price = ? AND pkey > ?))")
            params += [after.price, after.price, after.pkey]
        elif after:
            where.append("(sort_price > ? OR (sort_price = ? AND product_id > ?))")
            params += [after.price, after.price, after.product_id]
    else:
        order = "pkey"
        if after:
            where.append("pkey > ?")
            params.append(after.pkey if after.snapshot_id == snapshot_id else _rank_of(con, after.product_id))
    if hits and where in ([], ["pkey > ?"]):  # text only: the token index alone gives the page
        sql = f"SELECT pkey, NULL FROM ({hits}) {'WHERE pkey > ?' if where else ''} ORDER BY pkey LIMIT ?"
    else:
        if hits:
            where.insert(0, f"pkey IN ({hits})")
        sql = (f"SELECT pkey, sort_price FROM api_products {'WHERE ' + ' AND '.join(where) if where else ''} "
               f"ORDER BY {order} LIMIT ?")
    keys = con.execute(sql, [*params, limit + 1]).fetchall()
    more, keys = len(keys) > limit, keys[:limit]
    rows = _rows_by_pkey(con, [k[0] for k in keys])
    next_key = None
    if more:
        last = rows[-1]
        next_key = SearchKey(snapshot_id, keys[-1][0], last[0], str(last[13]) if sort == "price" else None)
    return SearchPage(Table(SEARCH_COLUMNS, [r[:12] for r in rows]), [r[12] for r in rows], next_key)


def _hits(terms: list[tuple[str, str | None]]) -> tuple[str, list[Any]]:
    """SQL for the pkeys having every term, and its parameters ("" when there is no term)."""
    branches, params = [], []
    for low, high in terms:
        branches.append("SELECT pkey FROM api_search WHERE " +
                        ("token = ?" if high is None else "token >= ? AND token < ?"))
        params += [low] if high is None else [low, high]
    return " INTERSECT ".join(branches), params


def _rows_by_pkey(con: duckdb.DuckDBPyConnection, pkeys: list[int]) -> list[tuple]:
    if not pkeys:
        return []
    rows = con.execute(f"SELECT {_SEARCH_SELECT}, pkey FROM api_products WHERE pkey IN "
                       f"({', '.join('?' * len(pkeys))})", pkeys).fetchall()
    by_key = {r[-1]: r[:-1] for r in rows}
    return [by_key[k] for k in pkeys]


def _rank_of(con: duckdb.DuckDBPyConnection, product_id: str) -> int:
    """The pkey a product id has, or would have, in this snapshot (pkeys number products in id order)."""
    return con.execute("SELECT count(*) FROM api_products WHERE product_id <= ?", [product_id]).fetchone()[0]


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
    product_id: str | None = None


def product_history(con: duckdb.DuckDBPyConnection, product_id: str, days: int) -> History | None:
    """Daily lows of a product's landed price (over its member offers), with the 30-day and all-time low."""
    row = con.execute("SELECT pkey, low_30d, low_all FROM api_products WHERE product_id = ?",
                      [product_id]).fetchone()
    if row is None:
        return None
    rows = con.execute("SELECT day, low, marketplace FROM api_product_daily WHERE pkey = ? AND day > "
                       "(SELECT published_day FROM api_meta) - ?::INTEGER ORDER BY day", [row[0], days]).fetchall()
    return History(row[1], row[2], Table(("date", "low", "marketplace"), rows), product_id)


def offer_history(con: duckdb.DuckDBPyConnection, marketplace: str, listing_id: str, days: int) -> History | None:
    """Daily low and high landed price of one offer, with its 30-day and all-time low."""
    found = con.execute(
        "SELECT (SELECT published_day FROM api_meta), (SELECT product_id FROM product_offers "
        "WHERE marketplace = ? AND listing_id = ?) FROM offers WHERE marketplace = ? AND listing_id = ?",
        [marketplace, listing_id, marketplace, listing_id]).fetchone()
    if found is None:
        return None
    today, product_id = found
    rows = con.execute("SELECT day, low, high, observations FROM api_offer_daily "
                       "WHERE marketplace = ? AND listing_id = ? ORDER BY day", [marketplace, listing_id]).fetchall()
    low_all = min((r[1] for r in rows), default=None)
    low_30d = min((r[1] for r in rows if r[0] > today - timedelta(days=30)), default=None)
    since = today - timedelta(days=days - 1)
    return History(low_30d, low_all, Table(("date", "low", "high", "observations"),
                                           [r for r in rows if r[0] >= since]), product_id)


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
