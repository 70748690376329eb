"""Logging for unattended runs: plain text or one JSON object per line, for bijia's and Scrapy's loggers.

``configure(fmt="json")`` installs one root handler (stderr) with :class:`JsonFormatter`. Scrapy must then
be started without its own root handler (``run_crawl(..., install_root_handler=False)``) so its records
reach this handler too. Structured fields go in ``extra={"event": ..., "run_id": ..., ...}``; every
non-standard attribute of a record becomes a JSON key.

Every line is redacted before it is written (``core.redact``): URLs lose their passwords and tokens, and the
secret values a run registers (``remember_secrets``: webhook credentials, SMTP passwords, proxy
credentials) are masked wherever they appear — in messages, extra fields and tracebacks, of bijia's loggers
and of every library's.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from core.redact import redact_text

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
HANDLER_NAME = "bijia"
_SECRETS: set[str] = set()


def remember_secrets(values: Iterable[str | None]) -> None:
    """Mask these values in every log line of this process from now on."""
    _SECRETS.update(v for v in values if v and len(v) >= 4)


def redact(text: str) -> str:
    return redact_text(text, _SECRETS)


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", ...extra fields, "exc"?}`` on one line, UTF-8 kept."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = getattr(value, "name", value) if key in ("spider", "crawler") else value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(payload, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """One line per record; a traceback only when asked for (``--verbose``), else its last line, so a shop
    that is down does not fill cron's mail with Twisted stacks."""

    def __init__(self, tracebacks: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
        self.tracebacks = tracebacks

    def formatException(self, ei) -> str:  # noqa: N802 - logging's API
        if self.tracebacks:
            return super().formatException(ei)
        return f"  ({ei[0].__name__}: {ei[1]})" if ei and ei[0] else ""

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks or not record.exc_info:
            return redact(super().format(record))
        text = super().format(record)
        return redact(" ".join(line.strip() for line in text.splitlines()))


def configure(
    fmt: LogFormat | str = LogFormat.text,
    level: int | str = logging.WARNING,
    stream: TextIO | None = None,
    library_level: int | str | None = None,
    tracebacks: bool = False,
) -> logging.Handler:
    """Install (or replace) bijia's root handler: ``bijia.*`` records from ``level``, other libraries' from
    ``library_level`` (default: ``level``, at least WARNING). Returns the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if LogFormat(fmt) is LogFormat.json else TextFormatter(tracebacks))
    own = _level(level)
    other = _level(library_level) if library_level is not None else max(own, logging.WARNING)
    handler.setLevel(min(own, other))
    handler.addFilter(_LibraryFilter(own, other))
    root.addHandler(handler)
    root.setLevel(min(own, other))
    logging.getLogger("bijia").setLevel(own)
    return handler


class _LibraryFilter(logging.Filter):
    """The ``bijia.*`` loggers (run events) at the handler's level; everything else (Scrapy, Twisted,
    Playwright, the per-item warnings of pipelines and spiders) only from ``level`` up. A filter, not
    logger levels, because Scrapy resets its loggers' levels when a crawl starts."""

    def __init__(self, own: int, other: int) -> None:
        super().__init__()
        self.own, self.other = own, other

    def filter(self, record: logging.LogRecord) -> bool:
        mine = record.name == "bijia" or record.name.startswith("bijia.")
        return record.levelno >= (self.own if mine else self.other)


def _level(level: int | str) -> int:
    return level if isinstance(level, int) else logging.getLevelName(str(level).upper())
