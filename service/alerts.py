"""Alerts of a run: compute, store, append to a JSON lines file, POST to a webhook.

Delivery is at-least-once with stable ``alert_id``s: a line is appended before the alert is stored, so a
run killed in between writes it again on its rerun; webhook failures are logged, never fatal, and the
alerts stay pending and are sent again (for a day) by the next run.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from crawler.config import AlertsOptions
from storage import connected
from storage.alerts import recent_alerts

log = logging.getLogger("bijia.alerts")
RETRY_WINDOW = timedelta(days=1)


@dataclass
class AlertsReport:
    new: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    file: str | None = None
    webhook: str = "off"  # off | sent | failed: <reason> | nothing to send
    delivered: int = 0

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def alerts_file(db_path: Path, options: AlertsOptions) -> Path:
    return Path(options.file) if options.file else Path(db_path).with_suffix(".alerts.jsonl")


def run_alerts(
    con: duckdb.DuckDBPyConnection, run_id: str, options: AlertsOptions, jsonl: Path
) -> AlertsReport:
    """Compute the alerts of ``run_id`` (after its crawl was committed and matched) and deliver them."""
    from storage.alerts import (
        current_lowest,
        lowest_changes,
        price_and_stock_changes,
        save_alerts,
        save_lowest,
    )

    alerts = price_and_stock_changes(
        con, run_id, drop_percent=options.drop_percent, rise_percent=options.rise_percent
    )
    lowest = current_lowest(con)
    alerts += lowest_changes(con, run_id, lowest)
    known = _known_ids(con, [a.alert_id for a in alerts])
    fresh = [a for a in alerts if a.alert_id not in known]
    append_jsonl(jsonl, [a.to_dict() for a in fresh])
    save_alerts(con, fresh)
    save_lowest(con, run_id, lowest)
    report = AlertsReport(len(fresh), dict(Counter(a.kind for a in fresh)), str(jsonl))
    for a in fresh:
        log.info("alert %s: %s %s", a.kind, a.marketplace, a.title, extra={"event": "alert", **a.to_dict()})
    if options.webhook_url:
        report.webhook, report.delivered = deliver(con, options.webhook_url, run_id, options.webhook_timeout)
    return report


def _known_ids(con: duckdb.DuckDBPyConnection, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return {
        r[0]
        for r in con.execute("SELECT alert_id FROM alerts WHERE list_contains(?, alert_id)", [ids]).fetchall()
    }


def append_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def deliver(con: duckdb.DuckDBPyConnection, url: str, run_id: str, timeout: float) -> tuple[str, int]:
    """POST the pending alerts of the last day as one JSON body; mark them delivered on a 2xx answer."""
    from storage.alerts import mark_delivered, undelivered

    pending = undelivered(con, since=datetime.now(UTC) - RETRY_WINDOW)
    if not pending:
        return "nothing to send", 0
    body = json.dumps(
        {"run_id": run_id, "count": len(pending), "alerts": pending}, ensure_ascii=False, default=str
    ).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "bijia-alerts/0.1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        log.warning(
            "webhook %s failed: %s; %d alert(s) stay pending",
            url,
            reason,
            len(pending),
            extra={"event": "webhook_failed", "url": url, "pending": len(pending)},
        )
        return f"failed: {reason}", 0
    if not 200 <= status < 300:
        log.warning(
            "webhook %s answered HTTP %s; %d alert(s) stay pending",
            url,
            status,
            len(pending),
            extra={"event": "webhook_failed", "url": url, "status": status, "pending": len(pending)},
        )
        return f"failed: HTTP {status}", 0
    mark_delivered(con, [a["alert_id"] for a in pending])
    return "sent", len(pending)


def alerts(db: Path, *, run_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """``bijia alerts``: stored alerts, newest first, with a ``change`` (percent or previous lowest
    marketplace) and a ``price`` (the price, else the landed price) column for display."""
    with connected(db, read_only=True) as con:
        rows = recent_alerts(con, run_id=run_id, limit=limit)
    for row in rows:
        row["change"] = row.get("change_percent") or row.get("previous_marketplace") or ""
        row["price"] = row.get("price") or row.get("landed_price")
    return rows
