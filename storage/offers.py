"""Writing crawled offers: staging in batches, then one transaction that publishes a run.

A crawl appends batches to ``staging_offers`` under its ``run_id``. ``commit_run`` upserts the run's
offers into ``offers`` (latest state), appends them to ``prices`` (history, never rewritten) and marks the
run finished — all or nothing. A killed crawl leaves only staging rows; resuming with the same run id adds
to them, and re-staging a listing replaces its row, so nothing is stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb

from core.offer import Offer
from core.redact import redact_value
from storage.db import one_row, rollback
from storage.schema import OFFER_COLUMN_NAMES, OFFER_COLUMNS

_NAMES = OFFER_COLUMN_NAMES


def start_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    kind: str,
    marketplaces: Sequence[str],
    config: dict[str, Any] | None = None,
) -> bool:
    """Record a run as running. Returns False when the run id exists already (a resume)."""
    exists = con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if exists:
        con.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE run_id = ?", [run_id])
        return False
    con.execute(
        "INSERT INTO runs (run_id, kind, status, started_at, marketplaces, config) "
        "VALUES (?, ?, 'running', ?, ?, ?)",
        [run_id, kind, datetime.now(UTC), list(marketplaces), stored_json(config or {})],
    )
    return True


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, stats: dict[str, Any]) -> None:
    con.execute(
        "UPDATE runs SET status = ?, finished_at = ?, stats = ? WHERE run_id = ?",
        [status, datetime.now(UTC), stored_json(stats), run_id],
    )


def settle_committed(con: duckdb.DuckDBPyConnection, status: str, note: str, exit_code: int) -> list[str]:
    """Record failed the ``bijia run`` runs left in ``status`` (which never recorded their outcome)."""
    dead = [
        r[0]
        for r in con.execute("SELECT run_id FROM runs WHERE kind = 'run' AND status = ?", [status]).fetchall()
    ]
    for run_id in dead:
        con.execute(
            "UPDATE runs SET status = 'failed', stats = json_merge_patch(coalesce(stats, '{}'), ?) WHERE run_id = ?",
            [json.dumps({"exit_code": exit_code, "died": note}), run_id],
        )
    return dead


def fail_unfinished(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Runs of ``kind`` still ``running`` in a database we can write are dead (a live one holds the file)."""
    con.execute(
        "UPDATE runs SET status = 'failed', finished_at = ? WHERE kind = ? AND status = 'running'",
        [datetime.now(UTC), kind],
    )


def stored_json(value: dict[str, Any]) -> str:
    """What ``runs.config``/``runs.stats`` keep: JSON with secrets redacted (URLs with credentials or
    tokens, values under secret-looking keys), since every snapshot copies the runs table."""
    return json.dumps(redact_value(json.loads(json.dumps(value, default=str))), ensure_ascii=False)


UNSTORABLE = (
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
    duckdb.TypeMismatchException,
)
"""Errors about a value (out of range, not encodable): one offer's fault, not the database's."""


def stage_offers(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    offers: Iterable[Offer],
    *,
    on_reject: Callable[[Offer, str], None] | None = None,
) -> int:
    """Append a batch of validated offers to staging (one statement; the last copy of a listing wins).
    Returns the offers stored.

    With ``on_reject``, a batch the database refuses for a value is written again offer by offer: the
    offers it refuses are passed to ``on_reject`` (offer, error) and the rest are stored. Without it the
    error is raised (nothing of the batch stored).
    """
    latest: dict[tuple[str, str], Offer] = {}
    for offer in offers:
        latest[(offer.marketplace, offer.listing_id)] = offer
    if not latest:
        return 0
    try:
        _insert_staging(con, run_id, list(latest.values()))
    except UNSTORABLE:
        if on_reject is None:
            raise
        return _stage_one_by_one(con, run_id, list(latest.values()), on_reject)
    return len(latest)


def _stage_one_by_one(
    con: duckdb.DuckDBPyConnection, run_id: str, offers: list[Offer], on_reject: Callable[[Offer, str], None]
) -> int:
    stored = 0
    for offer in offers:
        try:
            _insert_staging(con, run_id, [offer])
        except UNSTORABLE as exc:
            on_reject(offer, str(exc).splitlines()[0])
        else:
            stored += 1
    return stored


def _insert_staging(con: duckdb.DuckDBPyConnection, run_id: str, offers: list[Offer]) -> None:
    columns: list[list[Any]] = [[] for _ in _NAMES]
    for offer in offers:
        for i, name in enumerate(_NAMES):
            value = getattr(offer, name)
            if name == "attributes":
                value = json.dumps(value or {}, ensure_ascii=False)
            columns[i].append(value)
    selects = ", ".join(f"unnest(?::{sql_type}[])" for _, sql_type in OFFER_COLUMNS)
    updates = ", ".join(f"{n} = excluded.{n}" for n in _NAMES[2:])
    con.execute(
        f"INSERT INTO staging_offers (run_id, {', '.join(_NAMES)}) SELECT ?, {selects} "
        f"ON CONFLICT (run_id, marketplace, listing_id) DO UPDATE SET {updates}",
        [run_id, *columns],
    )


def staged_count(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    rows = con.execute(
        "SELECT marketplace, count(*) FROM staging_offers WHERE run_id = ? GROUP BY 1", [run_id]
    ).fetchall()
    return dict(rows)


def commit_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    marketplaces: Sequence[str],
    status: str,
    stats: dict[str, Any],
) -> int:
    """Publish a run's staged offers and finish the run, in one transaction. Returns offers published.

    Only the listed (successfully crawled) marketplaces are published; offers of those marketplaces that
    this run did not see get ``missed_runs`` + 1 (they are never deleted).
    """
    names = list(marketplaces)
    now = datetime.now(UTC)
    cols = ", ".join(_NAMES)
    updates = ", ".join(f"{n} = excluded.{n}" for n in _NAMES[2:])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"INSERT INTO offers ({cols}, first_seen, last_run_id, missed_runs, gone) "
            f"SELECT {cols}, observed_at, run_id, 0, false FROM staging_offers "
            "WHERE run_id = ? AND list_contains(?, marketplace) "
            f"ON CONFLICT (marketplace, listing_id) DO UPDATE SET {updates}, "
            "last_run_id = excluded.last_run_id, missed_runs = 0, gone = false",
            [run_id, names],
        )
        con.execute(
            "UPDATE offers SET missed_runs = missed_runs + 1 "
            "WHERE list_contains(?, marketplace) AND last_run_id <> ?",
            [names, run_id],
        )
        con.execute(
            "INSERT INTO prices SELECT run_id, marketplace, listing_id, observed_at, price, list_price, "
            "final_price, shipping, currency, in_stock, stock_qty, delivery_hours FROM staging_offers "
            "WHERE run_id = ? AND list_contains(?, marketplace) ON CONFLICT DO NOTHING",
            [run_id, names],
        )
        (published,) = one_row(
            con,
            "SELECT count(*) FROM staging_offers WHERE run_id = ? AND list_contains(?, marketplace)",
            [run_id, names],
        )
        con.execute("DELETE FROM staging_offers WHERE run_id = ?", [run_id])
        con.execute(
            "UPDATE runs SET status = ?, finished_at = ?, stats = ? WHERE run_id = ?",
            [status, now, stored_json(stats), run_id],
        )
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return int(published)
