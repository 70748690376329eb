"""The matcher models a merchandiser fitted (``bijia model fit``): stored whole, one of them active."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb


@dataclass(frozen=True)
class StoredModel:
    version: str
    created_at: datetime
    decisions: int
    active: bool
    summary: dict[str, Any]


def save_model(
    con: duckdb.DuckDBPyConnection, version: str, text: str, decisions: int, summary: dict[str, Any]
) -> None:
    """Store a model and make it the active one (a model stored again is only re-activated)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("UPDATE match_models SET active = false WHERE active")
        con.execute(
            "INSERT INTO match_models VALUES (?, ?, ?, true, ?, ?) ON CONFLICT (version) DO UPDATE SET active = true",
            [version, datetime.now(UTC), decisions, json.dumps(summary, ensure_ascii=False), text],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def activate(con: duckdb.DuckDBPyConnection, version: str | None) -> bool:
    """Make ``version`` the active model (``None``: none, so the shipped default); False if unknown."""
    if (
        version is not None
        and not con.execute("SELECT 1 FROM match_models WHERE version = ?", [version]).fetchone()
    ):
        return False
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("UPDATE match_models SET active = (version = ?)", [version or ""])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True


def active_model(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(version, model text) of the active model, if a fitted one is active."""
    row = con.execute("SELECT version, model FROM match_models WHERE active").fetchone()
    return (row[0], row[1]) if row else None


def products_by_model(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many stored products each model version grouped (through the match run that saved them)."""
    rows = con.execute(
        "SELECT r.config ->> 'model_version', count(*) FROM products p JOIN runs r ON r.run_id = p.match_run_id "
        "GROUP BY ALL"
    ).fetchall()
    return {version: n for version, n in rows if version}


def stored_models(con: duckdb.DuckDBPyConnection) -> list[StoredModel]:
    rows = con.execute(
        "SELECT version, created_at, decisions, active, summary FROM match_models ORDER BY created_at"
    ).fetchall()
    return [StoredModel(v, at, n, active, json.loads(s)) for v, at, n, active, s in rows]
