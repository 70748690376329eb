"""Reading the runs table."""

from __future__ import annotations

import json

import duckdb


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict]:
    rows = con.execute(
        "SELECT run_id, kind, status, started_at, finished_at, stats FROM runs "
        "ORDER BY started_at DESC LIMIT ?",
        [limit],
    ).fetchall()
    result = []
    for run_id, kind, status, started, finished, stats in rows:
        stats = json.loads(stats) if stats else {}
        per_market = stats.get("marketplaces", {})
        if per_market:
            summary = ", ".join(
                f"{name}: {m.get('status')} {m.get('offers')} offers"
                + (
                    f" {m['pages']} pages {m.get('errors', 0)} errors {m.get('seconds', 0)}s"
                    if "pages" in m
                    else ""
                )
                + (f" ({m['reason']})" if m.get("reason") and m.get("status") != "ok" else "")
                for name, m in per_market.items()
            )
        else:
            summary = ", ".join(f"{k}={v}" for k, v in stats.items() if k != "run_id")
        result.append(
            {
                "run_id": run_id,
                "kind": kind,
                "status": status,
                "started_at": started,
                "seconds": round((finished - started).total_seconds(), 1) if finished else None,
                "summary": summary,
                "stats": stats,
            }
        )
    return result
