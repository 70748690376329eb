"""Opening a bijia DuckDB file: migrations on write, clear errors for a missing, corrupt or foreign file.

DuckDB allows one writing process *or* many reading ones on a file. So that a look never breaks a run:

* a **writer** that finds the file held by a reader (``bijia runs`` during a run) waits for it, up to
  ``BIJIA_DB_WAIT`` seconds (default 60), instead of failing;
* a **reader** that finds the file held by a writer reads the last snapshot published from it instead
  (``storage.access``), with a note on the ``bijia.storage`` logger; with nothing published it waits a
  little, then says the database is busy.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from storage.access import published_copy, writer_description
from storage.failures import StorageBusy, StorageError, describe, first_line, lock_holder_pid
from storage.migrations import MIGRATIONS

SCHEMA_VERSION = MIGRATIONS[-1][0]
READER_WAIT = 5.0
"""Seconds a reader waits for a writer when nothing has been published to read meanwhile."""
log = logging.getLogger("bijia.storage")

__all__ = ["SCHEMA_VERSION", "StorageError", "connect", "connected", "migrate", "one_row"]


def writer_wait() -> float:
    """Seconds a writer waits for readers to close the file (``BIJIA_DB_WAIT``, default 60)."""
    try:
        return max(0.0, float(os.environ.get("BIJIA_DB_WAIT", "60")))
    except ValueError:
        return 60.0


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and, when writable, create/migrate) a bijia database."""
    path = Path(path)
    if read_only and not path.exists():
        raise StorageError(f"{path}: no such database (run `bijia crawl` or `bijia demo` first)")
    if not read_only:
        _make_parent(path)
    _check_magic(path)
    con = _open_waiting(path, read_only)
    try:
        if read_only:
            _check_version(con, path)
        else:
            migrate(con, path)
    except duckdb.Error as exc:
        con.close()
        raise describe(exc, path) from None
    except BaseException:
        con.close()
        raise
    return con


def check_path(path: Path | str) -> None:
    """A :class:`StorageError` when ``path`` cannot be a database file (a folder; a folder that cannot be
    made), said before a run takes its lock or crawls."""
    _make_parent(Path(path))


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{path}: cannot create the folder {path.parent}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise StorageError(f"{path}: is a folder, not a database file")


def _open_waiting(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``; on a lock held by another process, wait (writer) or read the published copy
    (reader). Every other failure is one clear :class:`StorageError`."""
    deadline = time.monotonic() + (READER_WAIT if read_only else writer_wait())
    pause, said = 0.02, False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            pid = lock_holder_pid(exc)
            if pid is None:
                raise _open_error(path, exc) from None
        if read_only and (copy := published_copy(path)) is not None:
            snapshot, note = copy
            log.warning("%s; %s", writer_description(path, pid), note)
            return duckdb.connect(str(snapshot), read_only=True)
        if time.monotonic() >= deadline:
            raise StorageBusy(_busy_message(path, pid, read_only), pid)
        if not said:
            log.info("%s: waiting for %s to close it", path, writer_description(path, pid))
            said = True
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _open_error(path: Path, exc: duckdb.Error) -> StorageError:
    error = describe(exc, path)
    if type(error) is StorageError and isinstance(exc, duckdb.IOException):
        return StorageError(f"{path}: cannot open database: {first_line(exc)}")
    if type(error) is StorageError:
        return StorageError(f"{path}: not a usable DuckDB database: {first_line(exc)}")
    return error


def _busy_message(path: Path, pid: int, read_only: bool) -> str:
    who = writer_description(path, pid)
    if read_only:
        return (
            f"{who}, and nothing has been published from it yet to read meanwhile; try again when it is done"
        )
    return (
        f"{who} (waited {writer_wait():.0f} s; set BIJIA_DB_WAIT to wait longer); close it or try again later"
    )


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
    if held_here(path):
        return  # open in this process already, so a DuckDB file; and reading it now would drop its lock
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return  # missing, a directory, unreadable: DuckDB's own message says so
    if len(head) >= 12 and head[8:12] != b"DUCK":
        kind = " (it is an SQLite database)" if head.startswith(b"SQLite format 3") else ""
        raise StorageError(f"{path}: not a DuckDB database file{kind}")


def held_here(path: Path) -> bool:
    """Whether this process has ``path`` open (a DuckDB connection of another thread or spider). Then it must
    not be opened and closed again outside DuckDB: closing *any* descriptor of a file drops every POSIX lock
    the process holds on it — DuckDB's among them — and other processes could then open it mid-write."""
    target = os.path.realpath(path)
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return True  # cannot tell: do not risk the lock
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


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
            rollback(con)
            raise
    return SCHEMA_VERSION


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failed statement. A failed COMMIT (a full disk) has rolled back already, and
    DuckDB's "no transaction is active" must not replace the error that says what happened."""
    with suppress(duckdb.Error):
        con.execute("ROLLBACK")


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
