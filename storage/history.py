"""Reference prices ("real discount"), price history by day, and the lifecycle of offers that stop showing up.

The reference price follows the rule of the EU Omnibus directive (Art. 6a) and of 慢慢买's 30-day low:

* **per offer** (marketplace + listing): its current price took effect at the first observation of its
  current unbroken run of observations at that price; the reference is the lowest price the same offer
  showed in the 30 days *before* that, from earlier runs only.
* **per product**: its price now is its cheapest live offer; its daily lows (over every member offer, in
  the display currency) are compared on *earlier days* only — the product's price took effect on the
  first of the trailing days at that price, and the reference is the lowest daily low in the 30 days
  before that day. One crawl therefore never claims a discount, nor does a price that merely went back
  down after a raise.

Prices here are effective prices (after coupon 券后价, else the price; shipping is not part of a price
reduction) of buyable observations (in stock or of unknown stock). ``is_real_discount``: price now <
reference. :func:`product_facts` and :func:`offer_facts` are the one definition that the CLI, the
snapshot tables (API and page) and the alerts read; ``product_facts_sql``/``offer_facts_sql`` give the
snapshot builder the same SQL for every product at once. Days are local days (DuckDB's ``TimeZone``,
the machine's zone by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from storage.db import one_row
from storage.rates import Conversion, conversion_rows
from storage.schema import effective_price

WINDOW_DAYS = 30
_FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class PriceFacts:
    """A product's (or an offer's) price now, since when, its reference price and whether it is a real
    discount; product prices are in the display currency, an offer's in its own."""

    price_now: Decimal | None
    since: date | datetime | None
    reference_price: Decimal | None
    """Lowest price in the 30 days before ``since``; ``None`` when nothing was observed then."""
    low_all_time: Decimal | None
    marketplace: str | None = None
    listing_id: str | None = None
    currency: str | None = None

    @property
    def is_real_discount(self) -> bool:
        return (
            self.price_now is not None
            and self.reference_price is not None
            and self.price_now < self.reference_price
        )

    def to_dict(self) -> dict[str, Any]:
        plain = {
            k: (str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, date) else v)
            for k, v in self.__dict__.items()
        }
        return {**plain, "real_discount": self.is_real_discount}


def product_facts_sql(
    conv: dict[str, Conversion], product_ids: list[str] | None = None
) -> tuple[str, dict[str, Any]]:
    """SQL (``product_id, price_now, marketplace, listing_id, since_day, reference, low_all``) and its
    named parameters, bar two the caller adds: ``now`` (timestamp) and ``today`` (its local date)."""
    fx_sql, params = conversion_rows(conv)
    only = ""
    if product_ids is not None:
        only, params["ids"] = "WHERE list_contains($ids, product_id)", product_ids
    eff_p, eff_o = effective_price("p"), effective_price("o")
    sql = f"""
        WITH fx AS ({fx_sql}),
        members AS (SELECT product_id, marketplace, listing_id FROM product_offers {only}),
        daily AS (
            SELECT m.product_id, CAST(p.observed_at AS DATE) AS day, min(round({eff_p} * fx.rate, 2)) AS low
            FROM members m JOIN prices p USING (marketplace, listing_id) JOIN fx ON fx.currency = p.currency
            WHERE coalesce(p.in_stock, true) AND p.observed_at <= $now GROUP BY ALL
        ), best AS (
            SELECT * FROM (
                SELECT m.product_id, o.marketplace, o.listing_id, round({eff_o} * fx.rate, 2) AS price_now,
                       row_number() OVER (PARTITION BY m.product_id
                                          ORDER BY {eff_o} * fx.rate, o.marketplace, o.listing_id) AS rn
                FROM members m JOIN offers o USING (marketplace, listing_id) JOIN fx ON fx.currency = o.currency
                WHERE NOT o.gone AND coalesce(o.in_stock, true)
            ) WHERE rn = 1
        ), edge AS (   -- the last earlier day whose low was another price
            SELECT b.product_id, b.price_now, max(d.day) FILTER (d.low <> b.price_now AND d.day < $today) AS broke
            FROM best b LEFT JOIN daily d USING (product_id) GROUP BY ALL
        ), start AS (
            SELECT e.product_id, coalesce(min(d.day) FILTER (d.day > coalesce(e.broke, DATE '0001-01-01')
                                                            AND d.day < $today), $today) AS since_day
            FROM edge e LEFT JOIN daily d USING (product_id) GROUP BY ALL
        ), lows AS (
            SELECT s.product_id, s.since_day, min(d.low) AS low_all,
                   min(d.low) FILTER (d.day >= s.since_day - {WINDOW_DAYS} AND d.day < s.since_day) AS reference
            FROM start s LEFT JOIN daily d USING (product_id) GROUP BY ALL
        )
        SELECT product_id, b.price_now, b.marketplace, b.listing_id, l.since_day, l.reference,
               least(l.low_all, b.price_now) AS low_all
        FROM best b JOIN lows l USING (product_id)"""
    return sql, params


def offer_facts_sql(
    product_ids: list[str] | None = None, run_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """SQL (``marketplace, listing_id, price_now, currency, since, reference, low_all``) and its named
    parameters bar ``now``: every offer's, those of ``product_ids``, or those a run observed. Prices in
    each offer's own currency; observations in another currency than the current one never count."""
    join, params = "", dict[str, Any]()
    if product_ids is not None:
        join = "JOIN product_offers po USING (marketplace, listing_id) WHERE list_contains($ids, po.product_id) AND"
        params["ids"] = product_ids
    elif run_id is not None:
        join = "JOIN (SELECT marketplace, listing_id FROM prices WHERE run_id = $run) USING (marketplace, listing_id) WHERE"
        params["run"] = run_id
    sql = f"""
        WITH obs AS (
            SELECT p.marketplace, p.listing_id, p.observed_at, p.run_id, p.currency,
                   {effective_price("p")} AS price
            FROM prices p {join or "WHERE"} coalesce(p.in_stock, true) AND p.observed_at <= $now
        ), marked AS (
            SELECT *, (lag(price) OVER w IS DISTINCT FROM price OR lag(currency) OVER w IS DISTINCT FROM currency)
                      AS starts
            FROM obs WINDOW w AS (PARTITION BY marketplace, listing_id ORDER BY observed_at, run_id)
        ), cur AS (
            SELECT marketplace, listing_id, arg_max(price, observed_at) AS price_now,
                   arg_max(currency, observed_at) AS currency, max(observed_at) FILTER (starts) AS since
            FROM marked GROUP BY ALL
        )
        SELECT c.marketplace, c.listing_id, c.price_now, c.currency, c.since,
               min(o.price) FILTER (o.observed_at < c.since AND o.observed_at >= c.since - INTERVAL {WINDOW_DAYS} DAY
                                    AND o.currency IS NOT DISTINCT FROM c.currency) AS reference,
               min(o.price) FILTER (o.currency IS NOT DISTINCT FROM c.currency) AS low_all
        FROM cur c JOIN obs o USING (marketplace, listing_id) GROUP BY ALL"""
    return sql, params


def product_facts(
    con: duckdb.DuckDBPyConnection,
    conv: dict[str, Conversion],
    product_ids: list[str] | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, PriceFacts]:
    """Facts per product (all, or those listed) that has a live offer with a usable rate, as of ``now``."""
    now = now or datetime.now(UTC)
    sql, params = product_facts_sql(conv, product_ids)
    rows = con.execute(sql, {**params, "now": now, "today": _local_day(con, now)}).fetchall()
    return {
        pid: PriceFacts(price, since, ref, low_all, market, lid)
        for pid, price, market, lid, since, ref, low_all in rows
    }


def offer_facts(
    con: duckdb.DuckDBPyConnection,
    product_ids: list[str] | None = None,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
) -> dict[tuple[str, str], PriceFacts]:
    """Facts per offer ``(marketplace, listing_id)`` — of the listed products, of the listings run
    ``run_id`` observed (for its alerts: is a price drop a real discount?), or all — as of ``now``."""
    sql, params = offer_facts_sql(product_ids, run_id)
    rows = con.execute(sql, {**params, "now": now or datetime.now(UTC)}).fetchall()
    return {
        (m, lid): PriceFacts(price, since, ref, low_all, m, lid, currency)
        for m, lid, price, currency, since, ref, low_all in rows
    }


def _local_day(con: duckdb.DuckDBPyConnection, moment: datetime) -> date:
    return one_row(con, "SELECT CAST(?::TIMESTAMPTZ AS DATE)", [moment])[0]


def daily_history(
    con: duckdb.DuckDBPyConnection, product_id: str, *, days: int | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per local day and marketplace: the product's lowest and highest effective and landed price (each in
    the offers' currency), observations, and the last observation's local time; oldest day first."""
    now = now or datetime.now(UTC)
    start = now - timedelta(days=days) if days else _FAR_PAST
    eff = effective_price("p")
    rows = con.execute(
        f"""
        SELECT CAST(p.observed_at AS DATE) AS day, p.marketplace, p.currency, min({eff}) AS low,
               max({eff}) AS high, min({eff} + p.shipping) AS landed_low, count(*) AS observations,
               count(*) FILTER (p.shipping IS NULL) AS shipping_unknown,
               bool_or(coalesce(p.in_stock, true)) AS in_stock, max(p.observed_at) AS last_seen
        FROM product_offers po JOIN prices p USING (marketplace, listing_id)
        WHERE po.product_id = ? AND p.observed_at BETWEEN ? AND ?
        GROUP BY ALL ORDER BY day, low, p.marketplace
    """,
        [product_id, start, now],
    ).fetchall()
    names = (
        "day",
        "marketplace",
        "currency",
        "low",
        "high",
        "landed_low",
        "observations",
        "shipping_unknown",
        "in_stock",
        "last_seen",
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
