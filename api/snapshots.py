"""Which snapshot the API reads: follows ``CURRENT`` without a restart and without failing requests in flight.

Each request ``acquire()``s the current snapshot and a DuckDB cursor of its own (``con.cursor()``, pooled).
At most every ``check_interval`` seconds one request re-reads the pointer file; when it names a new snapshot
a background thread opens it read-only, warms it (``warm``), swaps it in, and the old connection is closed
once its last request is done. Requests meanwhile go on with the old snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import duckdb

from storage.db import one_row
from storage.snapshot_tables import FORMAT
from storage.snapshots import Snapshot, read_pointer, snapshot_from_name

log = logging.getLogger("bijia.api")


class NoSnapshot(Exception):
    """Nothing has been published yet (or the published snapshot cannot be opened)."""


class Reading(NamedTuple):
    snapshot: Snapshot
    cur: duckdb.DuckDBPyConnection
    cache: dict
    """Per-snapshot objects (e.g. the search arrays), shared by all requests on that snapshot."""


class _Open:
    def __init__(self, snapshot: Snapshot, config: dict) -> None:
        self.snapshot = snapshot
        self.con = duckdb.connect(str(snapshot.path), read_only=True, config=config)
        try:
            (fmt,) = one_row(self.con, "SELECT format FROM api_meta")
        except duckdb.Error as exc:
            self.con.close()
            raise NoSnapshot(f"{snapshot.path}: not a published snapshot ({exc})") from None
        if fmt != FORMAT:
            self.con.close()
            raise NoSnapshot(
                f"{snapshot.path}: snapshot format {fmt}, this bijia reads {FORMAT} "
                f"(publish again: bijia publish)"
            )
        self.users = 0
        self.retired = False
        self.pool: list[duckdb.DuckDBPyConnection] = []
        self.cache: dict = {}

    def close(self) -> None:
        for cur in self.pool:
            cur.close()
        self.pool.clear()
        self.con.close()


class SnapshotManager:
    def __init__(
        self,
        snapshots_dir: Path,
        *,
        check_interval: float = 0.5,
        threads: int | None = None,
        memory_limit: str | None = None,
        warm: Callable[[Reading], None] | None = None,
        background: bool = True,
    ) -> None:
        self.snapshots_dir = Path(snapshots_dir)
        self.check_interval = check_interval
        self.warm = warm
        """Called with a new snapshot before it serves (build caches, touch indexes)."""
        self.background = background
        self._config: dict = {}
        if threads:
            self._config["threads"] = threads
        if memory_limit:
            self._config["memory_limit"] = memory_limit
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._current: _Open | None = None
        self._pointer: str | None = None
        self._checked = float("-inf")
        self.last_error: str | None = None

    @contextmanager
    def acquire(self) -> Iterator[Reading]:
        """The current snapshot and a cursor on it, held until the block ends."""
        self.refresh()
        with self._lock:
            handle = self._current
            if handle is None:
                raise NoSnapshot(self._public_error())
            handle.users += 1
            cur = handle.pool.pop() if handle.pool else None
        if cur is None:
            cur = handle.con.cursor()
        try:
            yield Reading(handle.snapshot, cur, handle.cache)
        finally:
            with self._lock:
                handle.users -= 1
                handle.pool.append(cur)
                close = handle.retired and handle.users == 0
            if close:
                handle.close()

    def _public_error(self) -> str:
        """What a client is told (the log has the details: paths stay on the server)."""
        if self.last_error is None:
            return "no snapshot has been published yet; try again later"
        return "the published snapshot cannot be opened; try again later (the server log says why)"

    def refresh(self, *, force: bool = False) -> None:
        """Re-read the pointer (at most every ``check_interval`` s); open a newly published snapshot, warm it
        and swap it in — in a background thread while an older snapshot is serving, so no request waits."""
        now = time.monotonic()
        if not force and now - self._checked < self.check_interval and self._current is not None:
            return
        if not self._check_lock.acquire(blocking=self._current is None or force):
            return  # another request is checking (or loading) right now; serve the current snapshot
        try:
            self._checked = now
            name = read_pointer(self.snapshots_dir)
            if name is None or name == self._pointer:
                self._check_lock.release()
                return
        except BaseException:
            self._check_lock.release()
            raise
        if self._current is None or not self.background:
            self._load(name)
        else:
            threading.Thread(
                target=self._load, args=(name,), name="bijia-snapshot-loader", daemon=True
            ).start()

    def _load(self, name: str) -> None:
        """Open, warm and swap in snapshot ``name``; releases the check lock."""
        try:
            handle = _Open(snapshot_from_name(self.snapshots_dir, name), self._config)
            if self.warm is not None:
                cur = handle.con.cursor()
                handle.pool.append(cur)
                self.warm(Reading(handle.snapshot, cur, handle.cache))
        except Exception as exc:  # noqa: BLE001 - a vanished or broken file: keep serving the old one, retry later
            error = f"cannot open snapshot {name}: {str(exc).splitlines()[0]}"
            if error != self.last_error:  # retried every check_interval: say it once, not twice a second
                log.warning(error)
            self.last_error = error
        else:
            self._swap(handle, name)
        finally:
            self._check_lock.release()

    def _swap(self, handle: _Open, name: str) -> None:
        with self._lock:
            old, self._current, self._pointer = self._current, handle, name
            self.last_error = None
            close = old is not None and old.users == 0
            if old is not None:
                old.retired = True
        if close and old is not None:
            old.close()
        log.info("serving snapshot %s", handle.snapshot.id)

    def close(self) -> None:
        with self._lock:
            handle, self._current, self._pointer = self._current, None, None
        if handle is not None:
            handle.retired = True
            if handle.users == 0:
                handle.close()
