"""What a run keeps beside its database in ``<db>.state/``: the crawl queues (``jobs/<run id>/``), the HTTP
cache (``httpcache/``) and a 1 MB reserve.

The reserve is what lets a run say what happened on a full disk: the file is allocated at the start of
every run (``posix_fallocate``, so the blocks are really taken) and deleted when a stage fails on a full
disk, freeing room to record the outcome. A disk too full to allocate it is said before anything is
crawled.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from storage.failures import DiskFull, disk_full_message, human_bytes

RESERVE_BYTES = 1 << 20


def state_dir(db_path: Path | str) -> Path:
    return Path(f"{db_path}.state")


def reserve_path(db_path: Path | str) -> Path:
    return state_dir(db_path) / "reserve"


def ensure_reserve(db_path: Path | str) -> None:
    """Allocate the reserve (a :class:`DiskFull` when the disk cannot spare it)."""
    path = reserve_path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(disk_full_message(str(path)), str(path)) from None
        raise
    try:
        if os.fstat(fd).st_blocks * 512 < RESERVE_BYTES:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
    except OSError as exc:
        os.close(fd)
        fd = -1
        path.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(
                f"{disk_full_message(str(path.parent))}: a run needs {human_bytes(RESERVE_BYTES)} in reserve "
                "to record its outcome on a full disk; nothing was crawled",
                str(path),
            ) from None
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # a file system without fallocate: no reserve
            raise
    finally:
        if fd >= 0:
            os.close(fd)


def release_reserve(db_path: Path | str) -> bool:
    """Free the reserve (a stage failed on a full disk); whether there was one."""
    try:
        reserve_path(db_path).unlink()
    except OSError:
        return False
    return True
