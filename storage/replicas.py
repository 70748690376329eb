"""Replicas of the published snapshots for more API servers: copy the current snapshot, swap it in.

A snapshot is one read-only DuckDB file named by ``CURRENT``. Each API replica serves its own folder; to
feed it, bring the writer's snapshot folder near it (``rsync``, a shared mount) and ``replicate`` it into
the replica's folder: the current snapshot file is copied under a temporary name, synced, renamed, and
the replica's ``CURRENT`` is swapped atomically — the replica's ``bijia serve`` picks it up within a
second, as it does after ``bijia publish``. Older snapshots beyond ``keep`` are removed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from storage.db import StorageError
from storage.snapshots import (
    _fsync_file,
    _publish_lock,
    _remove_temp_files,
    _write_pointer,
    cleanup,
    current_snapshot,
    read_pointer,
)


def replicate(source_dir: Path, replica_dir: Path, *, keep: int = 3) -> str:
    """Make ``source_dir``'s current snapshot current in ``replica_dir``; returns its id (nothing is copied
    when the replica has it already)."""
    source = current_snapshot(source_dir)
    if source is None:
        raise StorageError(f"{source_dir}: no published snapshot to replicate")
    replica_dir = Path(replica_dir)
    replica_dir.mkdir(parents=True, exist_ok=True)
    with _publish_lock(replica_dir):
        if read_pointer(replica_dir) == source.path.name:
            return source.id
        _remove_temp_files(replica_dir)
        final = replica_dir / source.path.name
        tmp = replica_dir / f".{source.path.name}.tmp"
        try:
            if not final.exists():
                shutil.copyfile(source.path, tmp)
                _fsync_file(tmp)
                os.rename(tmp, final)
            _write_pointer(replica_dir, final.name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        cleanup(replica_dir, keep=keep)
    return source.id
