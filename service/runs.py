"""``bijia runs``: the recent runs with their status and per-marketplace counts."""

from __future__ import annotations

from pathlib import Path

from storage import connected
from storage.runs import recent_runs


def runs(db: Path, limit: int = 20) -> list[dict]:
    with connected(db, read_only=True) as con:
        return recent_runs(con, limit)
