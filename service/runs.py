"""``bijia runs``: the recent runs with their status and per-marketplace counts.

While a run holds the database, the runs are read from the last published snapshot (``storage.access``)
and the run in progress, which that snapshot cannot know, is listed first from its lock file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from service.lock import held_by
from storage import connected
from storage.runs import recent_runs


def runs(db: Path, limit: int = 20) -> list[dict]:
    with connected(db, read_only=True) as con:
        rows = recent_runs(con, limit)
    holder = held_by(db)
    if holder and holder.get("run_id") and holder["run_id"] not in {r["run_id"] for r in rows}:
        rows.insert(0, _in_progress(holder))
    return rows[:limit]


def _in_progress(holder: dict) -> dict:
    try:
        started: datetime | str | None = datetime.fromisoformat(holder["started_at"])
    except (KeyError, TypeError, ValueError):
        started = holder.get("started_at")
    return {
        "run_id": holder["run_id"],
        "kind": "run",
        "status": "running",
        "exit": None,
        "started_at": started,
        "seconds": None,
        "summary": f"in progress (pid {holder.get('pid')}); the other rows are the last published state",
        "stats": {},
    }
