"""Opening a bijia DuckDB file: migrations on write, clear errors for a missing, corrupt or foreign file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from storage.migrations import MIGRATIONS

SCHEMA_VERSION = MIGRATIONS[-1][0]


class StorageError(Exception):
    """The database cannot be used; the message says which file and why."""


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and, when writable, create/migrate) a bijia database."""
    path = Path(path)
    if read_only and not path.exists():
        raise StorageError(f"{path}: no such database (run `bijia crawl` or `bijia demo` first)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    _check_magic(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise StorageError(f"{path}: cannot open database: {_first_line(exc)}") from None
    except duckdb.Error as exc:
        raise StorageError(f"{path}: not a usable DuckDB database: {_first_line(exc)}") from None
    try:
        if read_only:
            _check_version(con, path)
        else:
            migrate(con, path)
    except BaseException:
        con.close()
        raise
    return con


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    """The single row an aggregate or key lookup returns (``SELECT count(*) …``); an empty result is a
    ``StorageError`` rather than a ``None`` to unpack."""
    row = con.execute(sql, params or []).fetchone()
    if row is None:
        raise StorageError(f"no row for: {sql.split()[:6]}")
    return row


@contextmanager
def connected(path: Path | str, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """``connect`` for a ``with`` block: the connection is closed however the block ends."""
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def _check_magic(path: Path) -> None:
    """Refuse a file that is not DuckDB before DuckDB sees it: given an SQLite file, DuckDB would try to
    download its sqlite extension from the internet and fail with a confusing message."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return  # missing, a directory, unreadable: DuckDB's own message says so
    if len(head) >= 12 and head[8:12] != b"DUCK":
        kind = " (it is an SQLite database)" if head.startswith(b"SQLite format 3") else ""
        raise StorageError(f"{path}: not a DuckDB database file{kind}")


def migrate(con: duckdb.DuckDBPyConnection, path: Path | str = "database") -> int:
    """Apply pending migrations in order, each in a transaction. Returns the schema version."""
    tables = _tables(con)
    if tables and "schema_migrations" not in tables:
        raise StorageError(
            f"{path}: not a bijia database (it has tables {', '.join(sorted(tables)[:5])}"
            " but no schema_migrations)"
        )
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    if applied and max(applied) > SCHEMA_VERSION:
        raise StorageError(
            f"{path}: schema version {max(applied)} is newer than this bijia "
            f"({SCHEMA_VERSION}); upgrade bijia"
        )
    for version, name, sql in MIGRATIONS:
        if version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, datetime.now(UTC)])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _check_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    if "schema_migrations" not in _tables(con):
        raise StorageError(f"{path}: not a bijia database (no schema_migrations table)")
    (version,) = one_row(con, "SELECT coalesce(max(version), 0) FROM schema_migrations")
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{path}: schema version {version} is newer than this bijia ({SCHEMA_VERSION}); upgrade bijia"
        )
    if version != SCHEMA_VERSION:
        raise StorageError(
            f"{path}: schema version {version}, this bijia needs {SCHEMA_VERSION}; "
            "open it once writable (e.g. `bijia match`) to migrate"
        )


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")
    return {r[0] for r in rows.fetchall()}


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
