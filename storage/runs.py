"""Reading the runs table."""

from __future__ import annotations

import json

import duckdb

from core.redact import redact_value


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict]:
    rows = con.execute(
        "SELECT run_id, kind, status, started_at, finished_at, stats FROM runs "
        "ORDER BY started_at DESC LIMIT ?",
        [limit],
    ).fetchall()
    result = []
    for run_id, kind, status, started, finished, stats in rows:
        stats = redact_value(json.loads(stats)) if stats else {}  # rows written before redaction, too
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
        failure = [n for n in stats.get("notes") or [] if n.startswith(f"{stats.get('failed_stage')} ")]
        if stats.get("failed_stage") and failure:  # what failed and what was kept
            summary += f" — {failure[0]}"
        elif stats.get("died"):
            summary += f" — {stats['died']}"
        result.append(
            {
                "run_id": run_id,
                "kind": kind,
                "status": status,
                "exit": stats.get("exit_code"),
                "started_at": started,
                "seconds": round((finished - started).total_seconds(), 1) if finished else None,
                "summary": summary,
                "stats": stats,
            }
        )
    return result
