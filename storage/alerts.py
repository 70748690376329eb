"""Alerts between the previous and the new published state, and their delivery bookkeeping.

Price and stock alerts compare each observation a run appended to ``prices`` with the same listing's
previous observation. A marketplace whose crawl failed appends nothing, so a missing price is never a
change ("unknown", not "gone to zero"). The lowest marketplace per product is compared with the state
saved by the previous run (``product_lowest``); offers of a failed marketplace keep their last published
state in ``offers``, so a failure does not move the lowest either.

Alert ids are deterministic (``<run_id>:<kind>:<key>``), so computing a run's alerts twice stores them once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb

from storage.db import rollback
from storage.schema import effective_price, ranking_price

FIREHOSE_KINDS = ("price_drop", "price_rise", "out_of_stock", "back_in_stock", "new_lowest")
"""Listing-level changes for every product (``[alerts] firehose = true``)."""
WATCH_KINDS = ("below_target", "real_drop", "restocked")
"""Product-level alerts of a watch (``bijia watch add``)."""
KINDS = WATCH_KINDS + FIREHOSE_KINDS
_LANDED = ranking_price("o")  # shipping unknown: ranked by its price (see storage.schema)


@dataclass
class Alert:
    run_id: str
    kind: str
    marketplace: str | None
    listing_id: str | None
    product_id: str | None
    title: str | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        if "watch_id" in self.details:
            key = f"watch{self.details['watch_id']}"
        elif self.kind == "new_lowest":
            key = str(self.product_id)
        else:
            key = f"{self.marketplace}/{self.listing_id}"
        return f"{self.run_id}:{self.kind}:{key}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "kind": self.kind,
            "run_id": self.run_id,
            "product_id": self.product_id,
            "marketplace": self.marketplace,
            "listing_id": self.listing_id,
            "title": self.title,
            **{k: _plain(v) for k, v in self.details.items()},
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def price_and_stock_changes(
    con: duckdb.DuckDBPyConnection, run_id: str, *, drop_percent: float, rise_percent: float
) -> list[Alert]:
    """Alerts for the listings ``run_id`` observed, against each one's previous observation."""
    cur, prev = effective_price("c"), effective_price("p")
    rows = con.execute(
        f"""
        WITH cur AS (SELECT * FROM prices WHERE run_id = ?),
        prev AS (
            SELECT p.*, row_number() OVER (PARTITION BY p.marketplace, p.listing_id
                                           ORDER BY p.observed_at DESC, p.run_id DESC) AS rn
            FROM prices p JOIN cur c USING (marketplace, listing_id)
            WHERE p.run_id <> c.run_id AND p.observed_at <= c.observed_at
        )
        SELECT c.marketplace, c.listing_id, po.product_id, o.title, o.url, c.currency,
               {prev} AS old_price, {cur} AS new_price, p.in_stock AS old_stock, c.in_stock AS new_stock,
               p.observed_at AS old_at, c.observed_at AS new_at
        FROM cur c JOIN prev p ON p.marketplace = c.marketplace AND p.listing_id = c.listing_id AND p.rn = 1
        LEFT JOIN product_offers po ON po.marketplace = c.marketplace AND po.listing_id = c.listing_id
        LEFT JOIN offers o ON o.marketplace = c.marketplace AND o.listing_id = c.listing_id
        ORDER BY c.marketplace, c.listing_id
    """,
        [run_id],
    ).fetchall()
    alerts = []
    for market, lid, pid, title, url, currency, old, new, old_stock, new_stock, old_at, new_at in rows:
        base = {"url": url, "currency": currency, "previous_observed_at": old_at, "observed_at": new_at}
        if old_stock is True and new_stock is False:
            alerts.append(Alert(run_id, "out_of_stock", market, lid, pid, title, {**base, "price": new}))
        elif old_stock is False and new_stock is True:
            alerts.append(
                Alert(
                    run_id,
                    "back_in_stock",
                    market,
                    lid,
                    pid,
                    title,
                    {**base, "price": new, "previous_price": old},
                )
            )
        if new_stock is False or not old or old == new:
            continue
        change = (new - old) / old * 100
        if change <= -drop_percent or change >= rise_percent:
            alerts.append(
                Alert(
                    run_id,
                    "price_drop" if change < 0 else "price_rise",
                    market,
                    lid,
                    pid,
                    title,
                    {**base, "previous_price": old, "price": new, "change_percent": round(float(change), 2)},
                )
            )
    return alerts


@dataclass(frozen=True)
class Lowest:
    marketplace: str
    listing_id: str
    landed_price: Decimal


def current_lowest(con: duckdb.DuckDBPyConnection) -> dict[str, Lowest]:
    """Per product, its cheapest live offer by landed price (ties: marketplace name, listing id)."""
    rows = con.execute(f"""
        SELECT product_id, marketplace, listing_id, landed FROM (
            SELECT po.product_id, o.marketplace, o.listing_id, {_LANDED} AS landed,
                   row_number() OVER (PARTITION BY po.product_id
                                      ORDER BY {_LANDED}, o.marketplace, o.listing_id) AS rn
            FROM product_offers po JOIN offers o USING (marketplace, listing_id)
            WHERE NOT o.gone AND coalesce(o.in_stock, true)
        ) WHERE rn = 1
    """).fetchall()
    return {pid: Lowest(m, lid, landed) for pid, m, lid, landed in rows}


def saved_lowest(con: duckdb.DuckDBPyConnection) -> dict[str, Lowest]:
    rows = con.execute(
        "SELECT product_id, marketplace, listing_id, landed_price FROM product_lowest"
    ).fetchall()
    return {pid: Lowest(m, lid, price) for pid, m, lid, price in rows}


def lowest_changes(
    con: duckdb.DuckDBPyConnection, run_id: str, now: dict[str, Lowest] | None = None
) -> list[Alert]:
    """``new_lowest`` for each product whose cheapest marketplace differs from the saved state."""
    now = current_lowest(con) if now is None else now
    before = saved_lowest(con)
    titles = dict(con.execute("SELECT product_id, title FROM products").fetchall())
    alerts = []
    for pid in sorted(now):
        old, new = before.get(pid), now[pid]
        if old is None or old.marketplace == new.marketplace:
            continue
        alerts.append(
            Alert(
                run_id,
                "new_lowest",
                new.marketplace,
                new.listing_id,
                pid,
                titles.get(pid),
                {
                    "landed_price": new.landed_price,
                    "previous_marketplace": old.marketplace,
                    "previous_listing_id": old.listing_id,
                    "previous_landed_price": old.landed_price,
                },
            )
        )
    return alerts


def save_lowest(con: duckdb.DuckDBPyConnection, run_id: str, now: dict[str, Lowest]) -> None:
    """Replace the saved lowest-marketplace state (one transaction)."""
    stamp = datetime.now(UTC)
    pids = sorted(now)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM product_lowest")
        if pids:
            con.execute(
                "INSERT INTO product_lowest SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
                "unnest(?::VARCHAR[]), unnest(?::DECIMAL(18,2)[]), ?, ?",
                [
                    pids,
                    [now[p].marketplace for p in pids],
                    [now[p].listing_id for p in pids],
                    [now[p].landed_price for p in pids],
                    run_id,
                    stamp,
                ],
            )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def save_alerts(con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert]) -> list[Alert]:
    """Store alerts; returns those not stored before (a recomputed run's alerts are not new)."""
    if not alerts:
        return []
    ids = [a.alert_id for a in alerts]
    known = {
        r[0]
        for r in con.execute("SELECT alert_id FROM alerts WHERE list_contains(?, alert_id)", [ids]).fetchall()
    }
    fresh = [a for a in {a.alert_id: a for a in alerts}.values() if a.alert_id not in known]
    if fresh:
        con.execute(
            "INSERT INTO alerts (alert_id, run_id, kind, product_id, marketplace, listing_id, created_at, payload) "
            "SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
            "unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?, unnest(?::JSON[]) ON CONFLICT DO NOTHING",
            [
                [a.alert_id for a in fresh],
                [a.run_id for a in fresh],
                [a.kind for a in fresh],
                [a.product_id for a in fresh],
                [a.marketplace for a in fresh],
                [a.listing_id for a in fresh],
                datetime.now(UTC),
                [json.dumps(a.to_dict(), ensure_ascii=False) for a in fresh],
            ],
        )
    return fresh


def pending_for(
    con: duckdb.DuckDBPyConnection, channel: str, *, since: datetime, firehose: bool, limit: int = 1000
) -> list[dict[str, Any]]:
    """Alerts created at or after ``since`` that ``channel`` has not accepted yet, oldest first: the watched
    ones, and the firehose ones too when the channel takes them."""
    kinds = list(KINDS if firehose else WATCH_KINDS)
    rows = con.execute(
        "SELECT a.payload FROM alerts a LEFT JOIN alert_deliveries d ON d.alert_id = a.alert_id AND d.channel = ? "
        "WHERE d.delivered_at IS NULL AND a.created_at >= ? AND list_contains(?, a.kind) "
        "ORDER BY a.created_at, a.alert_id LIMIT ?",
        [channel, since, kinds, limit],
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def record_delivery(
    con: duckdb.DuckDBPyConnection, channel: str, alert_ids: Sequence[str], error: str | None = None
) -> None:
    """Count an attempt to send ``alert_ids`` to ``channel``: delivered, or the (redacted) error."""
    if not alert_ids:
        return
    now = datetime.now(UTC)
    con.execute(
        "INSERT INTO alert_deliveries SELECT unnest(?::VARCHAR[]), ?, ?, 1, ? ON CONFLICT (alert_id, channel) "
        "DO UPDATE SET attempts = alert_deliveries.attempts + 1, last_error = excluded.last_error, "
        "delivered_at = coalesce(alert_deliveries.delivered_at, excluded.delivered_at)",
        [list(alert_ids), channel, None if error else now, error],
    )
    if error is None:
        con.execute(
            "UPDATE alerts SET delivered_at = coalesce(delivered_at, ?) WHERE list_contains(?, alert_id)",
            [now, list(alert_ids)],
        )


def recent_alerts(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str | None = None,
    kinds: Sequence[str] | None = None,
    product_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Stored alerts, newest first, filtered by run, kinds, product and creation time; each with the
    channels that accepted it."""
    where: list[str] = ["true"]
    params: list[Any] = []
    for clause, value in (
        ("a.run_id = ?", run_id),
        ("list_contains(?, a.kind)", list(kinds) if kinds else None),
        ("a.product_id = ?", product_id),
        ("a.created_at >= ?", since),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    rows = con.execute(
        "SELECT a.alert_id, a.payload, a.delivered_at, a.created_at, "
        "list(d.channel ORDER BY d.channel) FILTER (WHERE d.delivered_at IS NOT NULL) "
        f"FROM alerts a LEFT JOIN alert_deliveries d USING (alert_id) WHERE {' AND '.join(where)} "
        "GROUP BY ALL ORDER BY a.created_at DESC, a.alert_id LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [
        json.loads(p)
        | {
            "delivered_at": d.isoformat() if d else None,
            "created_at": c.isoformat(),
            "channels": ",".join(ch or []),
        }
        for _, p, d, c, ch in rows
    ]
