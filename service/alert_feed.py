"""The alerts as an Atom feed (RFC 4287), written beside the snapshots after each run and served by
``bijia serve`` at ``/alerts.atom`` — replaced atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from service.alert_channels import describe

ATOM = "http://www.w3.org/2005/Atom"


def feed_xml(
    alerts: Sequence[dict[str, Any]], *, title: str = "bijia 比价提醒", now: datetime | None = None
) -> bytes:
    """The feed document: one entry per alert, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    updated = (
        max((a.get("created_at") or "" for a in alerts), default="") or (now or datetime.now(UTC)).isoformat()
    )
    for name, text in (("title", title), ("id", "urn:bijia:alerts"), ("updated", updated)):
        ET.SubElement(feed, f"{{{ATOM}}}{name}").text = text
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "bijia"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href="/alerts.atom")
    for alert in alerts:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:bijia:alert:{alert['alert_id']}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = describe(alert)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = alert.get("created_at") or updated
        ET.SubElement(entry, f"{{{ATOM}}}category", term=str(alert.get("kind")))
        if alert.get("product_id"):
            ET.SubElement(entry, f"{{{ATOM}}}link", href=f"/#product={alert['product_id']}")
        if alert.get("url"):
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=str(alert["url"]))
        ET.SubElement(entry, f"{{{ATOM}}}content", type="text").text = describe(alert)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def write_feed(path: Path, alerts: Sequence[dict[str, Any]]) -> None:
    """Write the feed to ``path`` atomically (a temporary file in the same folder, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".alerts-", suffix=".atom", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(feed_xml(alerts))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
