"""The read-optimised ``api_*`` tables the storefront API reads, built into a snapshot copy only.

``storage.snapshots`` copies the working database and swaps the copy in; this module adds to that copy
the per-product pages, offer keys, search postings and marketplace health that ``storage.snapshot_queries``
reads. Never run against the working database.

Prices are converted into the display currency (``storage.rates``: the stored setting and rates) for
ranking; each offer keeps its own price and currency beside the converted one, and an offer without a
usable rate is ranked after the others and never the lowest. The reference prices ("real discount") are
``storage.history``'s, computed for every product and offer at once with the same SQL.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from storage.db import one_row
from storage.history import offer_facts_sql, product_facts_sql
from storage.rates import conversion_rows, conversions, get_settings
from storage.schema import effective_price, landed_price, ranking_price
from storage.search import build_postings

FORMAT = 4
"""Version of the ``api_*`` tables; the API refuses a snapshot of another format."""
_AVAILABLE = "coalesce(in_stock, true)"
_SAFE_URL = "CASE WHEN regexp_matches({0}, '^https?://', 'i') THEN {0} END"
"""Only http(s) links leave the snapshot (a ``javascript:`` URL never becomes an href)."""


def _iso(column: str) -> str:
    return f"strftime(CAST({column} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ')"


def _money(column: str) -> str:
    return f"CAST({column} AS VARCHAR)"


_OFFER_JSON = f"""{{
    'rank': rank, 'marketplace': marketplace, 'listing_id': listing_id, 'title': title, 'brand': brand,
    'url': {_SAFE_URL.format("url")}, 'seller': seller, 'store': store, 'currency': currency,
    'price': {_money("price")}, 'list_price': {_money("list_price")}, 'final_price': {_money("final_price")},
    'shipping': {_money("shipping")}, 'shipping_known': shipping IS NOT NULL,
    'landed_price': {_money("landed")}, 'display_price': {_money("display_price")},
    'display_landed_price': {_money("display_landed")}, 'comparable': rate IS NOT NULL,
    'rate': {_money("rate")}, 'rate_date': CAST(rate_date AS VARCHAR),
    'reference_price': {_money("reference")}, 'price_since': {_iso("since")},
    'real_discount': coalesce(price_now < reference, false), 'in_stock': in_stock,
    'stock_qty': stock_qty, 'delivery_hours': delivery_hours, 'delivery_text': delivery_raw,
    'distance_km': distance_km, 'image': {_SAFE_URL.format("image")}, 'observed_at': observed_iso,
    'stale': missed_runs > 0, 'missed_runs': missed_runs, 'match_confidence': confidence,
    'match_method': method, 'latitude': latitude, 'longitude': longitude,
    'delivery_radius_km': delivery_radius_km, 'promotions': promotions}}"""

_SUMMARY_JSON = f"""{{
    'product_id': product_id, 'title': title, 'brand': brand, 'category': category, 'image': image,
    'currency': $display, 'offers': offers, 'marketplaces': marketplaces, 'offers_apart': apart,
    'lowest_price': {_money("lowest")}, 'lowest_marketplace': lowest_marketplace,
    'lowest_shipping_unknown': lowest_shipping_unknown, 'highest_price': {_money("highest")},
    'saving': {_money("highest - lowest")}, 'price_now': {_money("price_now")},
    'price_since': CAST(since_day AS VARCHAR), 'reference_price': {_money("reference")},
    'real_discount': coalesce(price_now < reference, false), 'low_all_time': {_money("low_all")},
    'last_observed': last_observed}}"""


def build_api_tables(
    con: duckdb.DuckDBPyConnection, snapshot_id: str, published_at: datetime, fmt: int = FORMAT
) -> None:
    """Add the ``api_*`` tables the storefront API reads to a snapshot being built (never the working DB)."""
    con.execute(f"SET TimeZone = '{_local_zone()}'")
    # a product page is one row read by index: ZSTD (which DuckDB picks for long strings) decompresses a
    # whole segment per lookup (3 ms vs 0.3 ms with dictionary/FSST on a 5M-offer snapshot)
    con.execute("SET disabled_compression_methods = 'zstd'")
    settings = get_settings(con)
    today = one_row(con, "SELECT CAST(?::TIMESTAMPTZ AS DATE)", [published_at])[0]
    conv = conversions(con, settings.display_currency, today)
    con.execute(
        "CREATE TABLE api_meta AS SELECT ?::VARCHAR AS snapshot_id, ?::TIMESTAMPTZ AS published_at, "
        "?::INTEGER AS format, ?::DATE AS published_day, ?::VARCHAR AS display_currency, "
        "?::VARCHAR AS unknown_shipping, current_setting('TimeZone') AS timezone, ?::JSON AS rates",
        [
            snapshot_id,
            published_at,
            fmt,
            today,
            settings.display_currency,
            settings.unknown_shipping,
            [c.to_dict() for c in conv.values()],
        ],
    )
    fx_sql, fx_params = conversion_rows(conv)
    con.execute(f"CREATE TEMP TABLE fx AS {fx_sql}", fx_params)
    sql, params = offer_facts_sql()
    con.execute(f"CREATE TEMP TABLE ofacts AS {sql}", {**params, "now": published_at})
    sql, params = product_facts_sql(conv)
    con.execute(f"CREATE TEMP TABLE pfacts AS {sql}", {**params, "now": published_at, "today": today})
    con.execute(
        "CREATE TEMP TABLE pk AS SELECT product_id, "
        "CAST(row_number() OVER (ORDER BY product_id) AS INTEGER) AS pkey FROM products"
    )
    _build_live(con, settings.unknown_shipping)
    _build_offer_keys(con)
    _build_daily(con)
    con.execute(f"""CREATE TABLE api_offers AS
        SELECT *, CAST(to_json({_OFFER_JSON}) AS VARCHAR) AS item FROM (
            SELECT CAST(row_number() OVER (PARTITION BY pkey ORDER BY {_AVAILABLE} DESC, rate IS NULL,
                   missed_runs, display_price NULLS LAST, observed_at DESC, marketplace, listing_id)
                   AS INTEGER) AS rank, *
            FROM live)
        ORDER BY pkey, rank""")
    _build_products(con, settings.display_currency)
    build_postings(con, "api_search", _SEARCH_DOCS)
    _build_marketplaces(con)
    for name, table, columns in _INDEXES:
        con.execute(f"CREATE INDEX {name} ON {table} ({columns})")


def _local_zone() -> str:
    """The machine's time zone as DuckDB sees it on a fresh connection (the snapshot's own was set to UTC)."""
    with duckdb.connect() as fresh:
        zone = one_row(fresh, "SELECT current_setting('TimeZone')")[0]
    return str(zone).replace("'", "")


def _build_live(con: duckdb.DuckDBPyConnection, unknown_shipping: str) -> None:
    """Every live offer of a product with its landed price, converted prices and reference facts."""
    con.execute(f"""CREATE TEMP TABLE live AS
        SELECT pk.pkey, po.product_id, po.confidence, po.method, o.*, {landed_price("o")} AS landed,
               fx.rate, fx.rate_date, round({ranking_price("o", unknown_shipping)} * fx.rate, 2) AS display_price,
               round({landed_price("o")} * fx.rate, 2) AS display_landed,
               f.price_now, f.reference, f.since, {_iso("o.observed_at")} AS observed_iso
        FROM product_offers po JOIN offers o USING (marketplace, listing_id) JOIN pk USING (product_id)
        LEFT JOIN fx ON fx.currency = o.currency LEFT JOIN ofacts f USING (marketplace, listing_id)
        WHERE NOT o.gone""")


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
    """``api_offer_keys(offer_key, okey, product_id, …)``: every offer (gone ones too) and every matched
    listing, numbered by (marketplace, listing_id), with its reference facts (own currency)."""
    con.execute("""CREATE TEMP TABLE offer_keys AS
        SELECT CAST(row_number() OVER (ORDER BY marketplace, listing_id) AS INTEGER) AS okey, marketplace,
               listing_id, po.product_id
        FROM (SELECT marketplace, listing_id FROM offers UNION SELECT marketplace, listing_id FROM product_offers)
             LEFT JOIN product_offers po USING (marketplace, listing_id)""")
    con.execute(
        f"CREATE TABLE api_offer_keys AS SELECT {_OFFER_KEY} AS offer_key, okey, product_id, f.currency, "
        "f.price_now, f.since, f.reference, f.low_all "
        "FROM offer_keys k LEFT JOIN ofacts f USING (marketplace, listing_id) ORDER BY okey"
    )


def _build_daily(con: duckdb.DuckDBPyConnection) -> None:
    """Daily lows (local days, buyable observations, effective prices: the measure of the reference
    prices) per offer in its currency, and per product and marketplace in the display currency."""
    eff = effective_price("p")
    con.execute(f"""CREATE TABLE api_offer_daily AS
        SELECT k.okey, CAST(p.observed_at AS DATE) AS day, min({eff}) AS low, max({eff}) AS high,
               count(*) AS observations
        FROM prices p JOIN offer_keys k USING (marketplace, listing_id) WHERE {_AVAILABLE}
        GROUP BY ALL ORDER BY k.okey, day""")
    con.execute(f"""CREATE TABLE api_product_daily AS
        SELECT pk.pkey, CAST(p.observed_at AS DATE) AS day, p.marketplace, min(round({eff} * fx.rate, 2)) AS low
        FROM prices p JOIN product_offers po USING (marketplace, listing_id) JOIN pk USING (product_id)
             JOIN fx ON fx.currency = p.currency
        WHERE coalesce(p.in_stock, true) GROUP BY ALL ORDER BY pk.pkey, day, p.marketplace""")


def _build_products(con: duckdb.DuckDBPyConnection, display: str) -> None:
    con.execute(
        f"""CREATE TABLE api_products AS
        WITH agg AS (
            SELECT pkey, count(*) AS offers, count(DISTINCT marketplace) AS marketplaces,
                   count(*) FILTER (rate IS NULL) AS apart,
                   min(display_price) FILTER ({_AVAILABLE}) AS lowest,
                   max(display_price) FILTER ({_AVAILABLE}) AS highest,
                   arg_min(marketplace, display_price) FILTER ({_AVAILABLE}) AS lowest_marketplace,
                   arg_min(shipping IS NULL, display_price) FILTER ({_AVAILABLE}) AS lowest_shipping_unknown,
                   arg_min({_SAFE_URL.format("image")}, rank) FILTER (regexp_matches(image, '^https?://', 'i'))
                       AS image,
                   max(observed_at) AS last_seen, any_value(brand) AS offer_brand,
                   any_value(category) AS offer_category,
                   '[' || string_agg(item, ',' ORDER BY rank) || ']' AS offers_json
            FROM api_offers GROUP BY pkey
        ), base AS (
            SELECT pk.pkey, p.product_id, p.title, coalesce(p.brand, a.offer_brand) AS brand,
                   coalesce(p.category, a.offer_category) AS category, a.image, coalesce(a.offers, 0) AS offers,
                   coalesce(a.marketplaces, 0) AS marketplaces, coalesce(a.apart, 0) AS apart, a.lowest,
                   a.highest, a.lowest_marketplace, a.lowest_shipping_unknown, f.price_now, f.since_day,
                   f.reference, f.low_all, {_iso("a.last_seen")} AS last_observed, a.offers_json
            FROM products p JOIN pk USING (product_id) LEFT JOIN agg a USING (pkey)
                 LEFT JOIN pfacts f USING (product_id)
        )
        SELECT pkey, product_id, title, brand, category, $display AS currency, offers, marketplaces, lowest, highest,
               lowest_marketplace, reference, low_all, last_observed, price_now, since_day,
               CAST(round(coalesce(lowest, 1e13) * 100) AS BIGINT) AS sort_cents,
               CAST(round(coalesce(highest - lowest, 0) * 100) AS BIGINT) AS saving_cents, summary,
               '{{"snapshot":' || to_json($snapshot::VARCHAR) || ',"product":' || summary || ',"offers":'
                   || coalesce(offers_json, '[]') || '}}' AS page
        FROM (SELECT *, CAST(to_json({_SUMMARY_JSON}) AS VARCHAR) AS summary FROM base) ORDER BY pkey""",
        {"display": display, "snapshot": one_row(con, "SELECT snapshot_id FROM api_meta")[0]},
    )


_SEARCH_DOCS = """
    SELECT pkey, 't' AS kind, title AS text FROM api_products
    UNION ALL SELECT pkey, 'b', brand FROM api_products UNION ALL SELECT pkey, 'c', category FROM api_products
    UNION ALL SELECT pkey, 't', title FROM live
    UNION ALL SELECT DISTINCT pkey, 'b', brand FROM live UNION ALL SELECT DISTINCT pkey, 'c', category FROM live
    UNION ALL SELECT DISTINCT pkey, 'g', gtin FROM live UNION ALL SELECT DISTINCT pkey, 'm', mpn FROM live"""
"""The search documents (``storage.search.build_postings``): each product's own title, brand and category
and its live offers' titles, brands, categories, GTINs and model numbers."""


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
                   count(*) FILTER (NOT gone AND shipping IS NOT NULL) AS shipping_known,
                   max(observed_at) AS last_observed
            FROM offers GROUP BY 1
        )
        SELECT marketplace, coalesce(c.offers, 0) AS offers, coalesce(c.gone_offers, 0) AS gone_offers,
               round(c.shipping_known / nullif(c.offers, 0), 3) AS shipping_fill_rate,
               {_iso("ok.last_success")} AS last_success, ok.run_id AS last_success_run,
               {_iso("t.last_attempt")} AS last_attempt, t.last_status AS last_attempt_status,
               {_iso("c.last_observed")} AS last_observed
        FROM counts c FULL JOIN ok USING (marketplace) FULL JOIN last_try t USING (marketplace)
        ORDER BY marketplace""")
