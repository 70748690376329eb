"""Published, read-only snapshots of the database for the storefront API.

DuckDB allows one writing process *or* many read-only ones on a file, never both. So a crawl writes the
working database, and when a run has committed (and the working database is closed) ``publish`` copies it
into ``snapshots_dir/<snapshot id>.duckdb``, adds read-optimised ``api_*`` tables to the copy (never to the
working database), and swaps it in by replacing the ``CURRENT`` pointer file atomically (temp file, fsync,
``os.replace``). Readers open the file ``CURRENT`` names, read-only. A publish that fails half-way leaves only
a temp file, which the next publish removes: ``CURRENT`` never names an unfinished snapshot.

Every table of the working database is copied (staging empty), so a snapshot is also what a reader reads
while a run holds the working database (``storage.access``) and a backup to restore a damaged one from;
secrets in ``runs`` are redacted in the copy (rows written before redaction existed).

Old snapshots beyond ``keep`` are deleted. A reader that still has a deleted file open keeps reading it
(POSIX keeps the inode until the last descriptor closes), and the previous ``keep - 1`` snapshots stay on
disk for readers that read ``CURRENT`` just before a swap.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from storage.access import record_published
from storage.db import SCHEMA_VERSION, connected, one_row
from storage.failures import StorageError, describe
from storage.offers import stored_json
from storage.snapshot_tables import FORMAT, build_api_tables

POINTER = "CURRENT"
SUFFIX = ".duckdb"
EMPTY_TABLES = ("staging_offers", "match_state", "match_edges")
"""Copied without rows: a half-crawled run is never in a snapshot; the incremental matcher's state is the
working database's alone."""
_SORT = {"offers": "marketplace, listing_id", "products": "product_id"}


@dataclass(frozen=True)
class Snapshot:
    id: str
    path: Path
    published_at: datetime


def publish(working_db: Path, snapshots_dir: Path, *, keep: int = 3) -> str:
    """Publish the (closed) working database as the current snapshot. Returns the new snapshot id."""
    working_db, snapshots_dir = Path(working_db), Path(snapshots_dir)
    if keep < 1:
        raise ValueError("keep must be at least 1")
    if not working_db.is_file():
        raise StorageError(f"{working_db}: no such database to publish")
    check_snapshots_dir(snapshots_dir)
    try:
        return _publish(working_db, snapshots_dir, keep)
    except (duckdb.Error, OSError) as exc:
        raise describe(exc, snapshots_dir) from None


def check_snapshots_dir(snapshots_dir: Path) -> None:
    """Create the snapshots folder if needed; a :class:`StorageError` if it cannot hold snapshots (checked
    before a run crawls, not after)."""
    snapshots_dir = Path(snapshots_dir)
    if snapshots_dir.exists() and not snapshots_dir.is_dir():
        raise StorageError(f"{snapshots_dir}: not a folder (the snapshots folder must be one)")
    try:
        snapshots_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"{snapshots_dir}: cannot create the snapshots folder: {exc.strerror or exc}"
        ) from None
    if not snapshots_dir.is_dir():
        raise StorageError(f"{snapshots_dir}: not a folder (the snapshots folder must be one)")
    if not os.access(snapshots_dir, os.W_OK | os.X_OK):
        raise StorageError(f"{snapshots_dir}: the snapshots folder is not writable")


def _publish(working_db: Path, snapshots_dir: Path, keep: int) -> str:
    with _publish_lock(snapshots_dir):
        _remove_temp_files(snapshots_dir)
        published_at = datetime.now(UTC)
        snapshot_id = published_at.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)
        final = snapshots_dir / f"{snapshot_id}{SUFFIX}"
        tmp = snapshots_dir / f".{snapshot_id}{SUFFIX}.tmp"
        try:
            _build(working_db, tmp, snapshot_id, published_at)
            _fsync_file(tmp)
            os.rename(tmp, final)
            _write_pointer(snapshots_dir, final.name)
        except BaseException:
            for leftover in (tmp, Path(f"{tmp}.wal"), final):
                leftover.unlink(missing_ok=True)
            raise
        record_published(working_db, final, snapshot_id, published_at)
        cleanup(snapshots_dir, keep=keep)
    return snapshot_id


def current_snapshot(snapshots_dir: Path) -> Snapshot | None:
    """The snapshot ``CURRENT`` names, or ``None`` when nothing was published yet."""
    name = read_pointer(snapshots_dir)
    if name is None:
        return None
    return snapshot_from_name(Path(snapshots_dir), name)


def read_pointer(snapshots_dir: Path) -> str | None:
    try:
        name = (Path(snapshots_dir) / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def snapshot_from_name(snapshots_dir: Path, name: str) -> Snapshot:
    if "/" in name or not name.endswith(SUFFIX):
        raise StorageError(f"{snapshots_dir / POINTER}: names {name!r}, not a snapshot file")
    snapshot_id = name[: -len(SUFFIX)]
    try:
        published_at = datetime.strptime(snapshot_id.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise StorageError(f"{snapshots_dir / POINTER}: {name!r} is not a snapshot id") from None
    return Snapshot(snapshot_id, Path(snapshots_dir) / name, published_at)


def list_snapshots(snapshots_dir: Path) -> list[Snapshot]:
    """Published snapshot files, oldest first."""
    found = []
    for path in sorted(Path(snapshots_dir).glob(f"*{SUFFIX}")):
        try:
            found.append(snapshot_from_name(Path(snapshots_dir), path.name))
        except StorageError:
            continue
    return found


def cleanup(snapshots_dir: Path, *, keep: int = 3) -> list[str]:
    """Delete all but the newest ``keep`` snapshots (never the current one). Returns the deleted ids."""
    current = read_pointer(snapshots_dir)
    snapshots = [s for s in list_snapshots(snapshots_dir) if s.path.name != current]
    doomed = snapshots[: max(0, len(snapshots) - (keep - 1))] if current else snapshots[:-keep]
    for snap in doomed:
        snap.path.unlink(missing_ok=True)
        Path(f"{snap.path}.wal").unlink(missing_ok=True)
    return [s.id for s in doomed]


def _build(working_db: Path, out: Path, snapshot_id: str, published_at: datetime) -> None:
    con = duckdb.connect(str(out))
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")
        try:
            con.execute("ATTACH ? AS w (READ_ONLY)", [str(working_db)])
        except duckdb.Error as exc:
            raise StorageError(
                f"{working_db}: cannot open for publishing (is a crawl still writing it?): "
                f"{str(exc).splitlines()[0]}"
            ) from None
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'w'"
            ).fetchall()
        }
        if "schema_migrations" not in tables:
            raise StorageError(f"{working_db}: not a bijia database (no schema_migrations table)")
        (version,) = one_row(con, "SELECT coalesce(max(version), 0) FROM w.schema_migrations")
        if version != SCHEMA_VERSION:
            raise StorageError(
                f"{working_db}: schema version {version}, this bijia publishes {SCHEMA_VERSION}"
            )
        for table in sorted(t for t in tables if not t.startswith("api_")):
            order = f" ORDER BY {_SORT[table]}" if table in _SORT else ""
            rows = " LIMIT 0" if table in EMPTY_TABLES else order
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM w.{table}{rows}")
        con.execute("DETACH w")
        _redact_runs(con)
        build_api_tables(con, snapshot_id, published_at, FORMAT)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _redact_runs(con: duckdb.DuckDBPyConnection) -> None:
    """Re-store each run's config and stats through ``stored_json`` (which redacts secrets)."""
    for run_id, config, stats in con.execute("SELECT run_id, config, stats FROM runs").fetchall():
        clean = [stored_json(json.loads(v)) if v else v for v in (config, stats)]
        if clean != [config, stats]:
            con.execute("UPDATE runs SET config = ?, stats = ? WHERE run_id = ?", [*clean, run_id])


def _write_pointer(snapshots_dir: Path, name: str) -> None:
    tmp = snapshots_dir / f".{POINTER}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, snapshots_dir / POINTER)
    _fsync_dir(snapshots_dir)


def _remove_temp_files(snapshots_dir: Path) -> None:
    """Leftovers of a publish that crashed (we hold the publish lock, so none is in progress)."""
    for path in snapshots_dir.glob(".*.tmp*"):
        path.unlink(missing_ok=True)


@contextmanager
def _publish_lock(snapshots_dir: Path) -> Iterator[None]:
    with open(snapshots_dir / ".publish.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def snapshots_dir_for(db: Path) -> Path:
    """The default snapshots folder beside a working database: ``bijia.duckdb`` → ``bijia.snapshots/``."""
    db = Path(db)
    return db.parent / f"{db.stem}.snapshots"


def restore(snapshot: Snapshot, db: Path) -> int:
    """Rebuild the working database ``db`` from ``snapshot`` (every table's rows; the read-optimised
    ``api_*`` tables left out) in a new file with the full schema. Refuses to replace an existing file.
    Returns the offers restored."""
    db = Path(db)
    if db.exists() or Path(f"{db}.wal").exists():
        raise StorageError(f"{db}: exists; move it (and its .wal) aside first, e.g. to {db}.damaged")
    tmp = db.with_name(f".{db.name}.{secrets.token_hex(4)}.restoring")
    try:
        with connected(tmp) as con:
            con.execute("ATTACH ? AS s (READ_ONLY)", [str(snapshot.path)])
            tables = [
                r[0]
                for r in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
                ).fetchall()
            ]
            for table in tables:
                if table != "schema_migrations":
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM s.{table}")
            (offers,) = one_row(con, "SELECT count(*) FROM offers")
            con.execute("DETACH s")
            con.execute("CHECKPOINT")
        os.rename(tmp, db)
    except (duckdb.Error, OSError) as exc:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise describe(exc, db) from None
    return int(offers)
