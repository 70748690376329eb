"""Where a reader goes while a writer holds the working database: the snapshot last published from it.

``publish`` (``storage.snapshots``) records the snapshot it swapped in beside the working database, in
``<db>.published``; a reader that finds the database locked by a writer opens that snapshot read-only. A
snapshot is a complete, committed copy of every table (staging excepted), so ``bijia runs``, ``compare``,
``history`` and ``alerts`` read the last published state and the run is never disturbed.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime
from pathlib import Path


def published_record(db: Path | str) -> Path:
    return Path(f"{db}.published")


def record_published(db: Path | str, snapshot: Path, snapshot_id: str, published_at: datetime) -> None:
    """Remember the snapshot just published from ``db`` (atomic replace; best effort: a reader without
    it waits for the writer instead)."""
    target = published_record(db)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    body = {
        "snapshot": str(Path(snapshot).resolve()),
        "id": snapshot_id,
        "published_at": published_at.isoformat(),
    }
    try:
        tmp.write_text(json.dumps(body) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)


def published_copy(db: Path | str) -> tuple[Path, str] | None:
    """(snapshot file, a note saying what is read) for the last snapshot published from ``db``, if any."""
    try:
        record = json.loads(published_record(db).read_text(encoding="utf-8"))
        snapshot = Path(record["snapshot"])
        when = datetime.fromisoformat(record["published_at"]).astimezone()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not snapshot.is_file():
        return None
    return snapshot, (
        f"reading the last published snapshot {record.get('id', snapshot.stem)} "
        f"(published {when:%Y-%m-%d %H:%M:%S %Z}) meanwhile"
    )


def writer_description(db: Path | str, pid: int | None) -> str:
    """``data/b.duckdb is being written by `bijia run` (pid 123, for 2 min)`` from ``/proc``."""
    if not pid:
        return f"{db} is open in another process"
    command, age = _process(pid)
    what = f"`{command}`" if command else "another process"
    return f"{db} is being written by {what} (pid {pid}{f', for {age}' if age else ''})"


def _process(pid: int) -> tuple[str, str]:
    """(short command line, how long it has run) of ``pid``; empty strings where ``/proc`` cannot tell."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        started = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return "", ""
    words = [os.path.basename(a.decode(errors="replace")) for a in argv if a][:3]
    if len(words) > 1 and words[0].startswith("python"):
        words = words[1:]
    seconds = uptime - int(started) / os.sysconf("SC_CLK_TCK")
    return " ".join(words[:2]), _duration(seconds)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
