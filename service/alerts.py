"""Alerts of a run: the watchlist's (and, opted in, the firehose's), stored once, appended to a JSON lines
file, delivered to each channel, and written to the Atom feed ``bijia serve`` serves.

Delivery is at least once per channel with stable ``alert_id``s: a line is appended before the alert is
stored, so a run killed in between writes it again on its rerun; a channel that fails is logged (its
secrets redacted), never fatal, and gets the alerts again (for a day) at the next run. Alerts are computed
only after a run published offers, from those offers: a failed crawl changes nothing and so alerts nothing.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from core.redact import redact_url
from crawler.alert_config import Channel, WebhookChannel
from crawler.config import AlertsOptions
from service.alert_channels import DeliveryError, send
from service.alert_feed import write_feed
from service.errors import ExitCode, UserError
from service.watching import watched_alerts
from storage import connected
from storage.alerts import (
    KINDS,
    WATCH_KINDS,
    Alert,
    current_lowest,
    lowest_changes,
    pending_for,
    price_and_stock_changes,
    recent_alerts,
    record_delivery,
    save_alerts,
    save_lowest,
)
from storage.watchlist import save_watch_states

log = logging.getLogger("bijia.alerts")
RETRY_WINDOW = timedelta(days=1)
FEED_NAME = "alerts.atom"


@dataclass
class AlertsReport:
    new: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    file: str | None = None
    webhook: str = "off"  # the legacy webhook_url: off | sent | failed: <reason> | nothing to send
    delivered: int = 0
    channels: dict[str, str] = field(default_factory=dict)
    """Per channel: ``sent N`` | ``nothing to send`` | ``failed: <reason>``."""
    feed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def alerts_file(db_path: Path, options: AlertsOptions) -> Path:
    return Path(options.file) if options.file else Path(db_path).with_suffix(".alerts.jsonl")


def feed_path(snapshots_dir: Path) -> Path:
    """Where the Atom feed lives: beside the snapshots ``bijia serve`` reads."""
    return Path(snapshots_dir) / FEED_NAME


def run_alerts(
    con: duckdb.DuckDBPyConnection, run_id: str, options: AlertsOptions, jsonl: Path, feed: Path | None = None
) -> AlertsReport:
    """Compute the alerts of ``run_id`` (after its crawl was committed and matched) and deliver them."""
    lowest = current_lowest(con)
    watched = watched_alerts(con, run_id, lowest)
    alerts: list[Alert] = list(watched.alerts)
    if options.firehose:
        alerts += price_and_stock_changes(
            con, run_id, drop_percent=options.drop_percent, rise_percent=options.rise_percent
        )
        alerts += lowest_changes(con, run_id, lowest)
    known = _known_ids(con, [a.alert_id for a in alerts])
    fresh = [a for a in {a.alert_id: a for a in alerts}.values() if a.alert_id not in known]
    append_jsonl(jsonl, [a.to_dict() for a in fresh])
    _store(con, run_id, fresh, watched.states)
    save_lowest(con, run_id, lowest)
    report = AlertsReport(len(fresh), dict(Counter(a.kind for a in fresh)), str(jsonl))
    for a in fresh:
        log.info("alert %s: %s %s", a.kind, a.marketplace, a.title, extra={"event": "alert", **a.to_dict()})
    for name, channel in _channels(options):
        report.channels[name] = deliver(con, name, channel, run_id)
    if options.webhook_url:
        outcome = report.channels.get("webhook_url", "off")
        report.webhook = "sent" if outcome.startswith("sent") else outcome
        report.delivered = int(outcome.split()[1]) if outcome.startswith("sent") else 0
    if feed is not None:
        kinds = KINDS if options.firehose else WATCH_KINDS
        write_feed(feed, recent_alerts(con, kinds=kinds, limit=options.feed_entries))
        report.feed = str(feed)
    return report


def _store(con: duckdb.DuckDBPyConnection, run_id: str, fresh: list[Alert], states: list) -> None:
    """The run's new alerts and the watches' new states, together or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        save_alerts(con, fresh)
        save_watch_states(con, run_id, states)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _channels(options: AlertsOptions) -> list[tuple[str, Channel]]:
    """The configured channels by name; the legacy ``webhook_url`` is an unsigned firehose webhook."""
    channels: list[tuple[str, Channel]] = list(zip(options.channel_names(), options.channel, strict=True))
    if options.webhook_url:
        legacy = WebhookChannel(
            type="webhook", url=options.webhook_url, timeout=options.webhook_timeout, firehose=True
        )
        channels.append(("webhook_url", legacy))
    return channels


def deliver(con: duckdb.DuckDBPyConnection, name: str, channel: Channel, run_id: str) -> str:
    """Send the channel's pending alerts of the last day in one message; record the outcome."""
    pending = pending_for(con, name, since=datetime.now(UTC) - RETRY_WINDOW, firehose=channel.firehose)
    if not pending:
        return "nothing to send"
    ids = [a["alert_id"] for a in pending]
    try:
        send(channel, pending, run_id)
    except DeliveryError as exc:
        record_delivery(con, name, ids, str(exc))
        where = (
            getattr(channel, "url_env", None)
            or redact_url(getattr(channel, "url", None) or "")
            or channel.type
        )
        log.warning(
            "alert channel %s (%s) failed: %s; %d alert(s) stay pending",
            name,
            where,
            exc,
            len(ids),
            extra={"event": "channel_failed", "channel": name, "reason": str(exc), "pending": len(ids)},
        )
        return f"failed: {exc}"
    record_delivery(con, name, ids)
    return f"sent {len(ids)}"


def _known_ids(con: duckdb.DuckDBPyConnection, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = con.execute("SELECT alert_id FROM alerts WHERE list_contains(?, alert_id)", [ids]).fetchall()
    return {r[0] for r in rows}


def append_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``--since``: ``24h``, ``7d``, ``30m``, or an ISO date/time (local time when it has no zone)."""
    if text is None:
        return None
    now = now or datetime.now(UTC)
    value = text.strip()
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[:-1].isdigit() and value[-1:] in units:
        return now - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(
            f"--since {text!r}: give 24h, 7d or a date such as 2026-11-01", ExitCode.USAGE
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def alerts(
    db: Path,
    *,
    run_id: str | None = None,
    limit: int = 50,
    kinds: list[str] | None = None,
    product_id: str | None = None,
    since: str | None = None,
) -> list[dict[str, Any]]:
    """``bijia alerts``: stored alerts, newest first, filtered; with a ``change`` (percent, previous lowest
    marketplace, target or reference) and a ``price`` column for display."""
    unknown = sorted(set(kinds or []) - set(KINDS))
    if unknown:
        raise UserError(f"--kind {', '.join(unknown)}: use {', '.join(KINDS)}", ExitCode.USAGE)
    with connected(db, read_only=True) as con:
        rows = recent_alerts(
            con, run_id=run_id, kinds=kinds, product_id=product_id, since=parse_since(since), limit=limit
        )
    for row in rows:
        target = f"target {row['target']}" if row.get("target") else None
        reference = f"30-day low {row['reference']}" if row.get("reference") else None
        row["change"] = (
            row.get("change_percent") or row.get("previous_marketplace") or target or reference or ""
        )
        row["price"] = row.get("price") or row.get("landed_price")
    return rows
