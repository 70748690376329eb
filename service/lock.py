"""One run at a time per database: an exclusive ``fcntl.flock`` on ``<db>.lock``.

The kernel releases a flock when the process holding it exits, however it exits (SIGKILL included), so a
lock left by a killed run is recovered by simply taking it again: no stale-pid guessing. The file holds
the holder's pid, run id and start time, to make the "locked" message useful and to see a stuck holder.

A run stops itself at its deadline (``[run] max_minutes``, ``service.stopping``). A holder still there
``STUCK_GRACE`` seconds after that is stuck (hung, or an old bijia without a deadline): the next run stops
it — SIGTERM, then SIGKILL — once ``/proc/locks`` confirms that pid holds this lock, and exits 4 with one
error line, so a run that never ends cannot make every later run exit 75 unnoticed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from service.errors import ExitCode, UserError

log = logging.getLogger("bijia.lock")
STUCK_GRACE = 300.0
"""Seconds past its deadline after which a holder counts as stuck."""
STOP_WAIT = 30.0
"""Seconds a stuck holder gets to stop after SIGTERM before it is killed."""


class LockedError(UserError):
    """Another run holds the lock; exit code 75 (EX_TEMPFAIL: try again later)."""

    def __init__(self, message: str, holder: dict | None = None, code: ExitCode = ExitCode.LOCKED) -> None:
        super().__init__(message, code)
        self.holder = holder or {}


def lock_path(db_path: Path | str) -> Path:
    return Path(f"{db_path}.lock")


def read_holder(path: Path) -> dict:
    """What the current (or last) holder wrote into the lock file; ``{}`` if unreadable."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


@contextmanager
def run_lock(
    db_path: Path | str, run_id: str | None = None, *, max_seconds: float | None = None
) -> Iterator[Path]:
    """Hold the run lock of ``db_path`` for the block, or raise :class:`LockedError` at once (exit 75; exit 4
    after stopping a holder stuck for longer than ``max_seconds`` + ``STUCK_GRACE``)."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refusal(db_path, path, max_seconds) from None
        os.ftruncate(fd, 0)
        holder: dict[str, object] = {
            "pid": os.getpid(),
            "run_id": run_id,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if max_seconds:
            holder["max_seconds"] = max_seconds
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def held_by(db_path: Path | str) -> dict | None:
    """The holder of ``db_path``'s run lock when a run holds it now (``None`` when it is free)."""
    path = lock_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(path)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def holder_age(holder: dict) -> float | None:
    """Seconds since the holder took the lock."""
    try:
        started = datetime.fromisoformat(holder["started_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return (datetime.now(UTC) - started).total_seconds()


def _refusal(db_path: Path | str, path: Path, max_seconds: float | None) -> LockedError:
    holder = read_holder(path)
    who = ", ".join(f"{k} {holder[k]}" for k in ("pid", "run_id", "started_at") if holder.get(k))
    held = f"{db_path}: another bijia run holds the lock {path}" + (f" ({who})" if who else "")
    limit = holder.get("max_seconds") or max_seconds
    age = holder_age(holder)
    if not limit or age is None or age <= float(limit) + STUCK_GRACE:
        return LockedError(f"{held}; try again later", holder)
    pid = int(holder.get("pid") or 0)
    overdue = f"{held} for {age / 3600:.1f} h, longer than its limit of {float(limit) / 60:.0f} min"
    if not pid or not _holds_flock(pid, path):
        return LockedError(
            f"{overdue}; it looks stuck, but pid {pid} cannot be confirmed as the holder: stop it yourself",
            holder,
            ExitCode.FAILED,
        )
    how = stop_process(pid, path)
    log.error("%s: stopped it (%s)", overdue, how, extra={"event": "stuck_run_stopped", **holder})
    return LockedError(
        f"{overdue}: stopped it ({how}); the next run continues it with --resume", holder, ExitCode.FAILED
    )


def stop_process(pid: int, path: Path) -> str:
    """SIGTERM ``pid``; SIGKILL it if it still holds ``path``'s lock after ``STOP_WAIT`` seconds."""
    for sig, wait in ((signal.SIGTERM, STOP_WAIT), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return "it had exited"
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _holds_flock(pid, path):
                return signal.Signals(sig).name
            time.sleep(0.2)
    return "SIGKILL sent; the lock is still held"


def _holds_flock(pid: int, path: Path) -> bool:
    """Whether ``/proc/locks`` lists a flock by ``pid`` on ``path``'s inode (Linux)."""
    try:
        inode = os.stat(path).st_ino
        locks = Path("/proc/locks").read_text()
    except OSError:
        return False
    for line in locks.splitlines():
        fields = line.split()
        if (
            len(fields) >= 6
            and fields[1] == "FLOCK"
            and fields[4] == str(pid)
            and fields[5].endswith(f":{inode}")
        ):
            return True
    return False


def update_holder(path: Path, **fields: object) -> None:
    """Add fields (e.g. the run id once known) to the lock file we hold."""
    holder = read_holder(path) | fields
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder, default=str).encode(), 0)
    finally:
        os.close(fd)
