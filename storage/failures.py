"""What went wrong with a file, in one line a person can act on: a full disk, a damaged database, a file
another process holds.

DuckDB reports all of these as its own exception types with the OS error inside the text (``Could not write
file "x.wal": No space left on device``); Python code raises ``OSError`` with an ``errno``. Both are
classified here, so every layer says "disk full" the same way and names the file and the free space.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "File too large")
_DUCKDB_FILE = re.compile(r'file "([^"]+)"')
_DAMAGED_TEXT = (
    "Could not read enough bytes",
    "Corrupt database file",
    "does not match stored checksum",
    "database has been invalidated",
)
_LOCK_TEXT = "Could not set lock on file"
_PID = re.compile(r"\(PID (\d+)\)")


class StorageError(Exception):
    """The database (or a file beside it) cannot be used; the message says which file and why."""


class DiskFull(StorageError):
    """A write failed because the file system is full (or over quota)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class StorageBusy(StorageError):
    """Another process holds the database file (DuckDB: one writing process or many readers)."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def disk_full_path(exc: BaseException) -> str | None:
    """The file a write failed on because the disk is full; ``None`` when ``exc`` is something else ("" when
    the disk is full but no file is named). Follows ``__cause__``/``__context__`` (Scrapy and DuckDB wrap)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFull):
            return current.path or ""
        if isinstance(current, OSError) and current.errno in _DISK_FULL_ERRNOS:
            return str(current.filename or "")
        text = str(current)
        if any(t in text for t in _DISK_FULL_TEXT):
            match = _DUCKDB_FILE.search(text)
            return match.group(1) if match else ""
        current = current.__cause__ or current.__context__
    return None


def free_space(path: str | Path) -> str:
    """Free space of the file system holding ``path`` (its nearest existing parent), e.g. ``"0 B free"``."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        stat = os.statvfs(probe)
    except OSError:
        return "free space unknown"
    return f"{human_bytes(stat.f_bavail * stat.f_frsize)} free"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns at GB


def disk_full_message(path: str | None, what: str = "") -> str:
    """``disk full writing <path> (<free space> on its file system)``, the one line every layer prints."""
    where = f" writing {path}" if path else ""
    space = f" ({free_space(path)} on its file system)" if path else ""
    return f"disk full{where}{space}" + (f" during {what}" if what else "")


def is_damaged(exc: BaseException) -> bool:
    """A DuckDB error that means the file itself is truncated or corrupt (not a bad query)."""
    text = str(exc)
    return any(t in text for t in _DAMAGED_TEXT) and "No space left" not in text


def lock_holder_pid(exc: BaseException) -> int | None:
    """The pid DuckDB names when another process holds the file; ``None`` if ``exc`` is not a lock conflict."""
    text = str(exc)
    if _LOCK_TEXT not in text:
        return None
    match = _PID.search(text)
    return int(match.group(1)) if match else 0


def describe(exc: BaseException, path: str | Path | None = None) -> StorageError:
    """A :class:`StorageError` with one clear line for a DuckDB or OS error about ``path``."""
    if isinstance(exc, StorageError):
        return exc
    full = disk_full_path(exc)
    if full is not None:
        return DiskFull(disk_full_message(full or (str(path) if path else None)), full or None)
    prefix = f"{path}: " if path else ""
    if is_damaged(exc):
        return StorageError(
            f"{prefix}the database file is damaged (truncated or corrupt): {first_line(exc)}; restore it "
            "from the newest published snapshot (see docs/cron.md, 'A damaged database')"
        )
    pid = lock_holder_pid(exc)
    if pid is not None:
        return StorageBusy(f"{prefix}another process (pid {pid}) has the database open", pid)
    if isinstance(exc, OSError) and exc.filename:
        return StorageError(f"{exc.filename}: {exc.strerror or first_line(exc)}")
    return StorageError(f"{prefix}{first_line(exc)}")
