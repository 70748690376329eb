"""Read queries over a published snapshot's ``api_*`` tables (see ``storage.snapshots``), for the API.

Every value is a bound parameter. Functions take a cursor and return plain data; ``None`` means not found.
Money comes out as ``Decimal``; dates and times as ISO strings or ``date``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np

from storage.db import one_row
from storage.snapshot_tables import FILTER_PREFIX, offer_key

MAX_TERMS = 12
_TOKEN_RE = re.compile(r"[0-9]+[a-z]+|[a-z]+|[0-9]+|[\u3400-\u9fff\uf900-\ufaff]+")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOP = "\U0010ffff"
SEARCH_COLUMNS = (
    "product_id",
    "title",
    "brand",
    "category",
    "offers",
    "marketplaces",
    "lowest_price",
    "lowest_marketplace",
    "highest_price",
    "low_30d",
    "low_all_time",
    "last_observed",
)
_SEARCH_SELECT = (
    "product_id, title, brand, category, offers, marketplaces, lowest, lowest_marketplace, "
    "highest, low_30d, low_all, last_observed, summary"
)
OFFER_COLUMNS = (
    "rank",
    "marketplace",
    "listing_id",
    "title",
    "landed_price",
    "price",
    "final_price",
    "shipping",
    "currency",
    "in_stock",
    "delivery_hours",
    "observed_at",
    "stale",
    "url",
    "seller",
    "store",
)
_OFFER_SELECT = (
    "rank, marketplace, listing_id, title, landed, price, final_price, shipping, currency, "
    "in_stock, delivery_hours, observed_iso, missed_runs > 0, url, seller, store"
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

    Normalised like the index (NFKC, lower case). Latin words of 2+ letters and numbers with a unit
    (``256g`` finds ``256gb``) match as prefixes, numbers exactly (the last term as a prefix too, for
    search-as-you-type), CJK runs by their bigrams (a lone character as a prefix), a single letter exactly.
    """
    tokens = _TOKEN_RE.findall(unicodedata.normalize("NFKC", text).lower())
    terms: list[tuple[str, str | None]] = []
    for n, tok in enumerate(tokens):
        last = n == len(tokens) - 1
        if _CJK_RE.match(tok):
            if len(tok) == 1:
                terms.append((tok, tok + _TOP))
            terms.extend((tok[i : i + 2], None) for i in range(len(tok) - 1))
        elif len(tok) == 1 or (tok.isdigit() and not last):
            terms.append((tok, None))
        else:
            terms.append((tok, tok + _TOP))
    return list(dict.fromkeys(terms))[:MAX_TERMS]


class SearchIndex:
    """A snapshot's search index in memory: every token's posting list (sorted pkeys, one int32 array with
    offsets) and each product's price sort key in cents. About 4 bytes per (token, product) pair: ~60 MB for
    500,000 products. Load once per snapshot (``SearchIndex(cursor)``) and share it between requests.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        (self.snapshot_id,) = one_row(con, "SELECT snapshot_id FROM api_meta")
        cents = con.execute("SELECT sort_cents FROM api_products ORDER BY pkey").fetchnumpy()["sort_cents"]
        self.count = len(cents)
        self.cents = np.concatenate([np.zeros(1, dtype=np.int64), np.asarray(cents, dtype=np.int64)])
        counts = con.execute(
            "SELECT token, count(*) FROM api_search GROUP BY token ORDER BY token"
        ).fetchall()
        self.tokens = [t for t, _ in counts]
        self.offsets = np.concatenate([[0], np.cumsum([n for _, n in counts], dtype=np.int64)])
        # api_search is stored sorted by (token, pkey) and scans keep that order
        self.pkeys = np.asarray(
            con.execute("SELECT pkey FROM api_search").fetchnumpy()["pkey"], dtype=np.int32
        )
        self._by_price: np.ndarray | None = None

    def postings(self, low: str, high: str | None) -> np.ndarray:
        """Sorted unique pkeys having token ``low`` (``high`` None) or any token in ``[low, high)``."""
        i = bisect_left(self.tokens, low)
        j = (
            bisect_left(self.tokens, high)
            if high is not None
            else (i + 1 if i < len(self.tokens) and self.tokens[i] == low else i)
        )
        found = self.pkeys[self.offsets[i] : self.offsets[j]]
        if j - i <= 1:
            return found
        found = np.sort(found)  # several tokens' lists: merge (sort-based; numpy's hash unique is slower)
        return found[np.concatenate(([True], found[1:] != found[:-1]))]

    def by_price(self) -> np.ndarray:
        """All pkeys in (price, pkey) order."""
        if self._by_price is None:
            keys = np.arange(1, self.count + 1, dtype=np.int64)
            self._by_price = keys[np.lexsort((keys, self.cents[1:]))]
        return self._by_price


def search_products(
    con: duckdb.DuckDBPyConnection,
    text: str | None = None,
    *,
    brand: str | None = None,
    category: str | None = None,
    sort: str = "id",
    after: SearchKey | None = None,
    limit: int = 20,
    index: SearchIndex | None = None,
    table: bool = True,
) -> SearchPage:
    """Products whose own or member offers' titles contain every term, filtered, in keyset pages.

    Each term and filter is a sorted posting list of pkeys (``SearchIndex``); they are intersected in numpy,
    paged by (price,) pkey, and only the page's rows are read, through the ``pkey`` index (with
    ``table=False`` only their JSON summaries: the page's ``table`` is then empty).
    """
    index = index or SearchIndex(con)
    terms = query_terms(text or "")
    for kind, value in (("b", brand), ("c", category)):
        if value and value.strip():
            terms.append((f"{FILTER_PREFIX}{kind}:{value.strip().lower()}", None))
    hits = _intersect([index.postings(low, high) for low, high in terms]) if terms else None
    boundary = None
    if after:
        boundary = after.pkey if after.snapshot_id == index.snapshot_id else _rank_of(con, after.product_id)
    if sort == "price":
        found = _page_by_price(index, hits, after, boundary, limit + 1)
    else:
        found = _page_by_id(index, hits, boundary, limit + 1)
    more, keys = len(found) > limit, [int(k) for k in found[:limit]]
    columns = _SEARCH_SELECT if table else "product_id, summary"
    rows = _rows_by_pkey(con, keys, columns)
    next_key = None
    if more:
        price = str(Decimal(int(index.cents[keys[-1]])) / 100) if sort == "price" else None
        next_key = SearchKey(index.snapshot_id, keys[-1], rows[-1][0], price)
    summaries = [r[12] if table else r[1] for r in rows]
    return SearchPage(Table(SEARCH_COLUMNS, [r[:12] for r in rows] if table else []), summaries, next_key)


def _intersect(lists: list[np.ndarray]) -> np.ndarray:
    lists = sorted(lists, key=len)
    result = lists[0]
    for other in lists[1:]:
        if not len(result) or not len(other):
            return result[:0]
        pos = np.minimum(np.searchsorted(other, result), len(other) - 1)
        result = result[other[pos] == result]
    return result


def _page_by_id(index: SearchIndex, hits: np.ndarray | None, boundary: int | None, n: int) -> np.ndarray:
    start = boundary or 0
    if hits is None:  # no term, no filter: every product, and pkeys are 1..count
        return np.arange(start + 1, min(start + n, index.count) + 1)
    return hits[np.searchsorted(hits, start, side="right") :][:n]


def _page_by_price(
    index: SearchIndex, hits: np.ndarray | None, after: SearchKey | None, boundary: int | None, n: int
) -> np.ndarray:
    if hits is None:
        ordered = index.by_price()
    else:
        ordered = hits[np.lexsort((hits, index.cents[hits]))] if len(hits) > 1 else hits
    if after is None:
        return ordered[:n]
    cents = int(Decimal(after.price or "0") * 100)
    prices = index.cents[ordered]
    keep = (prices > cents) | ((prices == cents) & (ordered > boundary))
    return ordered[keep][:n]


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
    "landed_price",
    "is_lowest",
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
        if pid not in products:
            continue
        page = json.loads(products[pid][2])
        lowest, seen = page["product"]["lowest_price"], set()
        for o in page["offers"]:  # ranked: the first offer of each marketplace is its best
            if o["marketplace"] not in seen:
                seen.add(o["marketplace"])
                rows.append(
                    (
                        pid,
                        page["product"]["title"],
                        o["marketplace"],
                        o["landed_price"],
                        o["landed_price"] == lowest,
                        o["listing_id"],
                        o["title"],
                        o["in_stock"],
                        o["delivery_hours"],
                        o["observed_at"],
                        o["url"],
                    )
                )
    return (
        Table(COMPARE_COLUMNS, rows),
        [products[p][1] for p in wanted if p in products],
        [p for p in wanted if p not in products],
    )


@dataclass
class History:
    low_30d: Any
    low_all_time: Any
    table: Table
    product_id: str | None = None


def product_history(
    con: duckdb.DuckDBPyConnection, product_id: str, days: int, *, today: date
) -> History | None:
    """Daily lows of a product's landed price (over its member offers), with the 30-day and all-time low.
    ``today``: the snapshot's day (UTC); ``days`` counts back from it."""
    row = con.execute(
        "SELECT pkey, low_30d, low_all FROM api_products WHERE product_id = ?", [product_id]
    ).fetchone()
    if row is None:
        return None
    rows = con.execute(
        "SELECT day, low, marketplace FROM api_product_daily WHERE pkey = ? ORDER BY day", [row[0]]
    ).fetchall()
    since = today - timedelta(days=days - 1)
    return History(
        row[1], row[2], Table(("date", "low", "marketplace"), [r for r in rows if r[0] >= since]), product_id
    )


def offer_history(
    con: duckdb.DuckDBPyConnection, marketplace: str, listing_id: str, days: int, *, today: date
) -> History | None:
    """Daily low and high landed price of one offer, with its 30-day and all-time low."""
    found = con.execute(
        "SELECT okey, product_id FROM api_offer_keys WHERE offer_key = ?",
        [offer_key(marketplace, listing_id)],
    ).fetchone()
    if found is None:
        return None
    rows = con.execute(
        "SELECT day, low, high, observations FROM api_offer_daily WHERE okey = ? ORDER BY day", [found[0]]
    ).fetchall()
    low_all = min((r[1] for r in rows), default=None)
    low_30d = min((r[1] for r in rows if r[0] > today - timedelta(days=30)), default=None)
    since = today - timedelta(days=days - 1)
    return History(
        low_30d,
        low_all,
        Table(("date", "low", "high", "observations"), [r for r in rows if r[0] >= since]),
        found[1],
    )


def marketplaces(con: duckdb.DuckDBPyConnection) -> Table:
    rows = con.execute(
        "SELECT marketplace, offers, gone_offers, last_success, last_success_run, last_attempt, "
        "last_attempt_status, last_observed FROM api_marketplaces ORDER BY marketplace"
    ).fetchall()
    return Table(
        (
            "marketplace",
            "offers",
            "gone_offers",
            "last_success",
            "last_success_run",
            "last_attempt",
            "last_attempt_status",
            "last_observed",
        ),
        rows,
    )


def snapshot_info(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    sid, fmt = one_row(con, "SELECT snapshot_id, format FROM api_meta")
    (products,) = one_row(con, "SELECT count(*) FROM api_products")
    (offers,) = one_row(con, "SELECT count(*) FROM api_offers")
    return {"snapshot_id": sid, "format": fmt, "products": products, "offers": offers}


def _pkey(con: duckdb.DuckDBPyConnection, product_id: str) -> int | None:
    row = con.execute("SELECT pkey FROM api_products WHERE product_id = ?", [product_id]).fetchone()
    return row[0] if row else None
