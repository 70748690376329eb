"""``bijia publish`` and ``bijia serve``: snapshots for the storefront API."""

from __future__ import annotations

from pathlib import Path

from service.errors import UserError
from storage.replicas import replicate as replicate_snapshot
from storage.snapshots import current_snapshot, list_snapshots
from storage.snapshots import publish as publish_snapshot
from storage.snapshots import restore as restore_snapshot


def publish(db: Path, snapshots: Path, *, keep: int = 3) -> str:
    """Publish ``db`` as a new read-only snapshot in ``snapshots`` and swap it in; returns its id."""
    return publish_snapshot(db, snapshots, keep=keep)


def require_snapshot(snapshots: Path) -> None:
    """Raise a ``UserError`` saying what to run when nothing is published in ``snapshots`` yet."""
    if current_snapshot(snapshots) is None:
        raise UserError(
            f"{snapshots}: no published snapshot yet (run `bijia demo`, `bijia run` or `bijia publish` first)"
        )


def restore(db: Path, snapshots: Path, *, snapshot_id: str | None = None) -> tuple[str, int]:
    """Rebuild the working database ``db`` from the current (or the named) snapshot of ``snapshots``;
    returns (snapshot id, offers restored)."""
    chosen = current_snapshot(snapshots)
    if snapshot_id is not None:
        chosen = next((s for s in list_snapshots(snapshots) if s.id == snapshot_id), None)
        if chosen is None:
            known = ", ".join(s.id for s in list_snapshots(snapshots)) or "none"
            raise UserError(f"{snapshots}: no snapshot {snapshot_id!r} (there are: {known})")
    if chosen is None:
        raise UserError(f"{snapshots}: no published snapshot to restore from")
    return chosen.id, restore_snapshot(chosen, db)


def replicate(source: Path, replica: Path, *, keep: int = 3) -> str:
    """Make the current snapshot of ``source`` current in the replica folder ``replica`` (docs/deploy.md)."""
    return replicate_snapshot(source, replica, keep=keep)
