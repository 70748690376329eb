"""One run at a time per database: an exclusive ``fcntl.flock`` on ``<db>.lock``.

The kernel releases a flock when the process holding it exits, however it exits (SIGKILL included), so a
lock left by a killed run is recovered by simply taking it again: no stale-pid guessing. The file holds
the holder's pid, run id and start time, only to make the "locked" message useful.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from service.errors import ExitCode, UserError


class LockedError(UserError):
    """Another run holds the lock; exit code 75 (EX_TEMPFAIL: try again later)."""

    def __init__(self, message: str, holder: dict | None = None) -> None:
        super().__init__(message, ExitCode.LOCKED)
        self.holder = holder or {}


def lock_path(db_path: Path | str) -> Path:
    return Path(f"{db_path}.lock")


def read_holder(path: Path) -> dict:
    """What the current (or last) holder wrote into the lock file; ``{}`` if unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


@contextmanager
def run_lock(db_path: Path | str, run_id: str | None = None) -> Iterator[Path]:
    """Hold the run lock of ``db_path`` for the block, or raise :class:`LockedError` at once."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(path)
            who = ", ".join(f"{k} {holder[k]}" for k in ("pid", "run_id", "started_at") if holder.get(k))
            raise LockedError(
                f"{db_path}: another bijia run holds the lock {path}"
                + (f" ({who})" if who else "")
                + "; try again later",
                holder,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(
            fd,
            json.dumps(
                {
                    "pid": os.getpid(),
                    "run_id": run_id,
                    "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            ).encode(),
            0,
        )
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def update_holder(path: Path, **fields: object) -> None:
    """Add fields (e.g. the run id once known) to the lock file we hold."""
    holder = read_holder(path) | fields
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder, default=str).encode(), 0)
    finally:
        os.close(fd)
