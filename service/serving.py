"""``bijia publish`` and ``bijia serve``: snapshots for the storefront API."""

from __future__ import annotations

from pathlib import Path

from service.errors import UserError
from storage.replicas import replicate as replicate_snapshot
from storage.snapshots import current_snapshot
from storage.snapshots import publish as publish_snapshot


def publish(db: Path, snapshots: Path, *, keep: int = 3) -> str:
    """Publish ``db`` as a new read-only snapshot in ``snapshots`` and swap it in; returns its id."""
    return publish_snapshot(db, snapshots, keep=keep)


def require_snapshot(snapshots: Path) -> None:
    """Raise a ``UserError`` saying what to run when nothing is published in ``snapshots`` yet."""
    if current_snapshot(snapshots) is None:
        raise UserError(
            f"{snapshots}: no published snapshot yet (run `bijia demo`, `bijia run` or `bijia publish` first)"
        )


def replicate(source: Path, replica: Path, *, keep: int = 3) -> str:
    """Make the current snapshot of ``source`` current in the replica folder ``replica`` (docs/deploy.md)."""
    return replicate_snapshot(source, replica, keep=keep)
