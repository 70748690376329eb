"""The read-optimised ``api_*`` tables the storefront API reads, built into a snapshot copy only.

``storage.snapshots`` copies the working database and swaps the copy in; this module adds to that copy
the per-product pages, offer keys, search postings and marketplace health that ``storage.snapshot_queries``
reads. Never run against the working database.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from storage.db import one_row
from storage.schema import landed_price

FORMAT = 3
"""Version of the ``api_*`` tables; the API refuses a snapshot of another format."""
_LANDED = landed_price()
_AVAILABLE = "coalesce(in_stock, true)"
_CJK = r"\x{3400}-\x{9fff}\x{f900}-\x{faff}"
_CJK_FIRST = 0x3400
TOKEN_PATTERN = rf"[a-z]+|[0-9]+|[{_CJK}]+"
UNIT_PATTERN = r"[0-9]+[a-z]+"
"""Also indexed whole: a number with its unit or model suffix (``256gb``, ``1000xm``)."""
FILTER_PREFIX = "#"
"""``#b:<brand>`` and ``#c:<category>`` tokens (lower case) make the filters posting lists too."""
"""Search tokens: runs of Latin letters, of digits, of CJK characters (``storage.snapshot_queries`` tokenises alike)."""
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "


# ---- read-optimised tables, built in the snapshot copy only -----------------------------------------


def _iso(column: str) -> str:
    return f"strftime(CAST({column} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ')"


def _money(column: str) -> str:
    return f"CAST({column} AS VARCHAR)"


_OFFER_JSON = f"""{{
    'rank': rank, 'marketplace': marketplace, 'listing_id': listing_id, 'title': title, 'brand': brand,
    'url': url, 'seller': seller, 'store': store, 'currency': currency,
    'landed_price': {_money("landed")}, 'price': {_money("price")}, 'list_price': {_money("list_price")},
    'final_price': {_money("final_price")}, 'shipping': {_money("shipping")}, 'in_stock': in_stock,
    'stock_qty': stock_qty, 'delivery_hours': delivery_hours, 'delivery_text': delivery_raw,
    'distance_km': distance_km, 'image': image, 'observed_at': observed_iso, 'stale': missed_runs > 0,
    'missed_runs': missed_runs, 'match_confidence': confidence, 'match_method': method,
    'latitude': latitude, 'longitude': longitude, 'delivery_radius_km': delivery_radius_km,
    'promotions': promotions}}"""

_SUMMARY_JSON = f"""{{
    'product_id': product_id, 'title': title, 'brand': brand, 'category': category, 'offers': offers,
    'marketplaces': marketplaces, 'lowest_price': {_money("lowest")}, 'lowest_marketplace': lowest_marketplace,
    'highest_price': {_money("highest")}, 'saving': {_money("highest - lowest")},
    'low_30d': {_money("low_30d")}, 'low_all_time': {_money("low_all")}, 'last_observed': last_observed}}"""


def build_api_tables(
    con: duckdb.DuckDBPyConnection, snapshot_id: str, published_at: datetime, fmt: int = FORMAT
) -> None:
    """Add the ``api_*`` tables the storefront API reads to a snapshot being built (never the working DB)."""
    con.execute(
        "CREATE TABLE api_meta AS SELECT ?::VARCHAR AS snapshot_id, ?::TIMESTAMPTZ AS published_at, "
        "?::INTEGER AS format, CAST(?::TIMESTAMPTZ AS DATE) AS published_day",
        [snapshot_id, published_at, fmt, published_at],
    )
    con.execute(
        "CREATE TEMP TABLE pk AS SELECT product_id, "
        "CAST(row_number() OVER (ORDER BY product_id) AS INTEGER) AS pkey FROM products"
    )
    con.execute(f"""CREATE TEMP TABLE live AS
        SELECT pk.pkey, po.product_id, po.confidence, po.method, o.*, {_LANDED} AS landed,
               {_iso("o.observed_at")} AS observed_iso
        FROM product_offers po JOIN offers o USING (marketplace, listing_id) JOIN pk USING (product_id)
        WHERE NOT o.gone""")
    _build_offer_keys(con)
    con.execute(f"""CREATE TABLE api_offer_daily AS
        SELECT k.okey, CAST(p.observed_at AS DATE) AS day, min({_LANDED}) AS low, max({_LANDED}) AS high,
               count(*) AS observations
        FROM prices p JOIN offer_keys k USING (marketplace, listing_id) WHERE {_AVAILABLE}
        GROUP BY ALL ORDER BY k.okey, day""")
    con.execute("""CREATE TABLE api_product_daily AS
        SELECT pk.pkey, d.day, min(d.low) AS low, arg_min(k.marketplace, d.low) AS marketplace
        FROM api_offer_daily d JOIN offer_keys k USING (okey) JOIN pk USING (product_id)
        GROUP BY ALL ORDER BY pk.pkey, d.day""")
    con.execute(f"""CREATE TABLE api_offers AS
        SELECT *, CAST(to_json({_OFFER_JSON}) AS VARCHAR) AS item FROM (
            SELECT CAST(row_number() OVER (PARTITION BY pkey ORDER BY {_AVAILABLE} DESC, missed_runs,
                   landed, observed_at DESC, marketplace, listing_id) AS INTEGER) AS rank, *
            FROM live)
        ORDER BY pkey, rank""")
    _build_products(con, published_at)
    _build_search(con)
    _build_marketplaces(con)
    for name, table, columns in _INDEXES:
        con.execute(f"CREATE INDEX {name} ON {table} ({columns})")


_INDEXES = (  # point lookups by the API: an ART index scan instead of a row-group scan. DuckDB scans an
    # index only for a filter `column = constant` on one column, hence one-column keys (pkey, offer_key, okey).
    ("api_products_id", "api_products", "product_id"),
    ("api_products_pkey", "api_products", "pkey"),
    ("api_offers_pkey", "api_offers", "pkey"),
    ("api_product_daily_pkey", "api_product_daily", "pkey"),
    ("api_offer_keys_key", "api_offer_keys", "offer_key"),
    ("api_offer_daily_okey", "api_offer_daily", "okey"),
)


def offer_key(marketplace: str, listing_id: str) -> str:
    """An offer's one-column key in ``api_offer_keys``: the marketplace's length in UTF-8 bytes, ``:``, the
    marketplace, the listing id (``8:techmallA12``) — unambiguous whatever the two contain."""
    return f"{len(marketplace.encode('utf-8', 'surrogatepass'))}:{marketplace}{listing_id}"


_OFFER_KEY = "CAST(strlen(marketplace) AS VARCHAR) || ':' || marketplace || listing_id"
"""``offer_key`` in SQL."""


def _build_offer_keys(con: duckdb.DuckDBPyConnection) -> None:
    """``api_offer_keys(offer_key, okey, product_id)``: every offer (gone ones too) and every matched listing,
    numbered by (marketplace, listing_id); ``product_id`` is NULL for an offer no product groups."""
    con.execute("""CREATE TEMP TABLE offer_keys AS
        SELECT CAST(row_number() OVER (ORDER BY marketplace, listing_id) AS INTEGER) AS okey, marketplace,
               listing_id, po.product_id
        FROM (SELECT marketplace, listing_id FROM offers UNION SELECT marketplace, listing_id FROM product_offers)
             LEFT JOIN product_offers po USING (marketplace, listing_id)""")
    con.execute(
        f"CREATE TABLE api_offer_keys AS SELECT {_OFFER_KEY} AS offer_key, okey, product_id "
        "FROM offer_keys ORDER BY okey"
    )


def _build_products(con: duckdb.DuckDBPyConnection, published_at: datetime) -> None:
    con.execute(
        f"""CREATE TABLE api_products AS
        WITH agg AS (
            SELECT pkey, count(*) AS offers, count(DISTINCT marketplace) AS marketplaces,
                   min(landed) FILTER ({_AVAILABLE}) AS lowest, max(landed) FILTER ({_AVAILABLE}) AS highest,
                   arg_min(marketplace, landed) FILTER ({_AVAILABLE}) AS lowest_marketplace,
                   max(observed_at) AS last_seen, any_value(brand) AS offer_brand, any_value(category) AS offer_category,
                   '[' || string_agg(item, ',' ORDER BY rank) || ']' AS offers_json
            FROM api_offers GROUP BY pkey
        ), lows AS (
            SELECT pkey, min(low) AS low_all, min(low) FILTER (day > CAST(? AS DATE) - 30) AS low_30d
            FROM api_product_daily GROUP BY pkey
        ), base AS (
            SELECT pk.pkey, p.product_id, p.title, coalesce(p.brand, a.offer_brand) AS brand,
                   coalesce(p.category, a.offer_category) AS category, coalesce(a.offers, 0) AS offers,
                   coalesce(a.marketplaces, 0) AS marketplaces, a.lowest, a.highest, a.lowest_marketplace,
                   l.low_30d, l.low_all, {_iso("a.last_seen")} AS last_observed, a.offers_json
            FROM products p JOIN pk USING (product_id) LEFT JOIN agg a USING (pkey) LEFT JOIN lows l USING (pkey)
        )
        SELECT pkey, product_id, title, brand, category, lower(brand) AS brand_key,
               lower(category) AS category_key, offers, marketplaces, lowest, highest, lowest_marketplace,
               low_30d, low_all, last_observed, coalesce(lowest, 1e13) AS sort_price,
               CAST(round(coalesce(lowest, 1e13) * 100) AS BIGINT) AS sort_cents, summary,
               '{{"snapshot":' || to_json(?::VARCHAR) || ',"product":' || summary || ',"offers":'
                   || coalesce(offers_json, '[]') || '}}' AS page
        FROM (SELECT *, CAST(to_json({_SUMMARY_JSON}) AS VARCHAR) AS summary FROM base) ORDER BY pkey""",
        [published_at, _snapshot_id(con)],
    )


def _snapshot_id(con: duckdb.DuckDBPyConnection) -> str:
    return one_row(con, "SELECT snapshot_id FROM api_meta")[0]


def _build_search(con: duckdb.DuckDBPyConnection) -> None:
    """``api_search(token, pkey)``: every product's tokens over its own and all member offers' titles/brands,
    sorted by token then pkey, so each token's posting list is one sorted run.

    Latin and digit runs are tokens as they are, and so is a number with its unit (``256gb``); a CJK run
    gives its bigrams and its last character, so a query's CJK bigrams match exactly and a lone CJK
    character matches as a prefix. ``#b:<brand>`` / ``#c:<category>`` tokens serve the filters.
    """
    con.execute(
        f"""CREATE TABLE api_search AS
        WITH docs AS (
            SELECT pkey, title AS text FROM api_products UNION ALL SELECT pkey, brand FROM api_products
            UNION ALL SELECT pkey, category FROM api_products
            UNION ALL SELECT pkey, title FROM api_offers
            UNION ALL SELECT DISTINCT pkey, brand FROM api_offers
        ), norm AS (
            SELECT pkey, lower(translate(text, ?, ?)) AS text FROM docs WHERE text IS NOT NULL
        ), toks AS (
            SELECT DISTINCT pkey, tok FROM (
                SELECT pkey, unnest(regexp_extract_all(text, ?)) AS tok FROM norm
                UNION ALL SELECT pkey, unnest(regexp_extract_all(text, ?)) FROM norm)
        ), expanded AS (
            SELECT tok AS token, pkey FROM toks WHERE unicode(tok) < {_CJK_FIRST}
            UNION ALL
            SELECT substr(tok, length(tok), 1), pkey FROM toks WHERE unicode(tok) >= {_CJK_FIRST}
            UNION ALL
            SELECT substr(tok, i, 2), pkey FROM (
                SELECT tok, pkey, unnest(range(1, length(tok))) AS i FROM toks
                WHERE unicode(tok) >= {_CJK_FIRST} AND length(tok) > 1)
            UNION ALL
            SELECT '{FILTER_PREFIX}b:' || brand_key, pkey FROM api_products WHERE brand_key IS NOT NULL
            UNION ALL
            SELECT '{FILTER_PREFIX}c:' || category_key, pkey FROM api_products WHERE category_key IS NOT NULL
        )
        SELECT DISTINCT token, CAST(pkey AS INTEGER) AS pkey FROM expanded ORDER BY token, pkey""",
        [FULL_WIDTH, HALF_WIDTH, TOKEN_PATTERN, UNIT_PATTERN],
    )


def _build_marketplaces(con: duckdb.DuckDBPyConnection) -> None:
    """Per marketplace: offers, the last successful crawl (a run that published its offers), the last try."""
    con.execute(f"""CREATE TABLE api_marketplaces AS
        WITH published AS (SELECT DISTINCT run_id, marketplace FROM prices),
        ok AS (
            SELECT pr.marketplace, max(r.finished_at) AS last_success, arg_max(r.run_id, r.finished_at) AS run_id
            FROM published pr JOIN runs r USING (run_id)
            WHERE r.status IN ('finished', 'partial') GROUP BY 1
        ), tried AS (
            SELECT unnest(marketplaces) AS marketplace, started_at, status FROM runs WHERE kind <> 'match'
        ), last_try AS (
            SELECT marketplace, max(started_at) AS last_attempt, arg_max(status, started_at) AS last_status
            FROM tried GROUP BY 1
        ), counts AS (
            SELECT marketplace, count(*) FILTER (NOT gone) AS offers, count(*) FILTER (gone) AS gone_offers,
                   max(observed_at) AS last_observed
            FROM offers GROUP BY 1
        )
        SELECT marketplace, coalesce(c.offers, 0) AS offers, coalesce(c.gone_offers, 0) AS gone_offers,
               {_iso("ok.last_success")} AS last_success, ok.run_id AS last_success_run,
               {_iso("t.last_attempt")} AS last_attempt, t.last_status AS last_attempt_status,
               {_iso("c.last_observed")} AS last_observed
        FROM counts c FULL JOIN ok USING (marketplace) FULL JOIN last_try t USING (marketplace)
        ORDER BY marketplace""")
