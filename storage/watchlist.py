"""The watchlist (what a shopper watches: a target price, a real drop, back in stock) and each watch's
state between runs, so that a condition that keeps holding alerts once, not at every run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb

from storage.db import one_row


@dataclass(frozen=True)
class Watch:
    watch_id: int
    product_id: str
    below: Decimal | None
    drop_percent: float | None
    back_in_stock: bool
    label: str | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "watch_id": self.watch_id,
            "product_id": self.product_id,
            "below": None if self.below is None else str(self.below),
            "drop_percent": self.drop_percent,
            "back_in_stock": self.back_in_stock,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
        }


_COLUMNS = "watch_id, product_id, below, drop_percent, back_in_stock, label, created_at"


def add_watch(
    con: duckdb.DuckDBPyConnection,
    product_id: str,
    *,
    below: Decimal | None = None,
    drop_percent: float | None = None,
    back_in_stock: bool = False,
    label: str | None = None,
) -> Watch:
    row = one_row(
        con,
        f"INSERT INTO watches (product_id, below, drop_percent, back_in_stock, label, created_at) "
        f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
        [product_id, below, drop_percent, back_in_stock, label, datetime.now(UTC)],
    )
    return Watch(*row)


def watches(con: duckdb.DuckDBPyConnection, product_id: str | None = None) -> list[Watch]:
    where, params = ("WHERE product_id = ?", [product_id]) if product_id else ("", [])
    rows = con.execute(f"SELECT {_COLUMNS} FROM watches {where} ORDER BY watch_id", params).fetchall()
    return [Watch(*r) for r in rows]


def remove_watch(con: duckdb.DuckDBPyConnection, watch_id: int) -> bool:
    """Forget a watch and its state; ``False`` when there is no such watch."""
    con.execute("BEGIN TRANSACTION")
    try:
        (gone,) = one_row(con, "SELECT count(*) FROM watches WHERE watch_id = ?", [watch_id])
        con.execute("DELETE FROM watch_state WHERE watch_id = ?", [watch_id])
        con.execute("DELETE FROM watches WHERE watch_id = ?", [watch_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return bool(gone)


@dataclass(frozen=True)
class WatchState:
    active: bool
    price: Decimal | None


def watch_states(con: duckdb.DuckDBPyConnection) -> dict[tuple[int, str], WatchState]:
    rows = con.execute("SELECT watch_id, kind, active, price FROM watch_state").fetchall()
    return {(w, k): WatchState(a, p) for w, k, a, p in rows}


def save_watch_states(
    con: duckdb.DuckDBPyConnection, run_id: str, states: Sequence[tuple[int, str, bool, Decimal | None]]
) -> None:
    """Upsert ``(watch_id, kind, active, price)`` rows (call inside the transaction that stores the alerts)."""
    if not states:
        return
    con.execute(
        "INSERT INTO watch_state SELECT unnest(?::INTEGER[]), unnest(?::VARCHAR[]), unnest(?::BOOLEAN[]), "
        "unnest(?::DECIMAL(18,2)[]), ?, ? ON CONFLICT (watch_id, kind) DO UPDATE SET active = excluded.active, "
        "price = excluded.price, run_id = excluded.run_id, updated_at = excluded.updated_at",
        [
            [s[0] for s in states],
            [s[1] for s in states],
            [s[2] for s in states],
            [s[3] for s in states],
            run_id,
            datetime.now(UTC),
        ],
    )
