"""The marketplaces file: which shops to crawl and how, validated on load.

A bad file is a :class:`ConfigError` whose message names the file, the line and the key, e.g.
``marketplaces.toml line 7: marketplace 'techmall': shape: Input should be 'jsonld', 'shopify', …``.
"""

from __future__ import annotations

import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from core.redact import redact_url
from crawler.alert_config import Channel, channel_names
from crawler.fieldmap_config import FieldMap
from crawler.limits import Limits
from crawler.shapes import MAP_SHAPES, SHAPES

DEMO_MARKETPLACES = Path(__file__).resolve().parent.parent / "demo" / "marketplaces.toml"
_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


class ConfigError(Exception):
    """The marketplaces file is missing, unreadable or invalid; the message says where."""


class BrowserOptions(BaseModel):
    """Selectors for the ``browser`` shape (JavaScript-rendered listings)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    item_selector: str = "[data-offer]"
    load_more_selector: str = "button.load-more"
    max_load_more: Annotated[int, Field(ge=0, le=1000)] = 200
    wait_timeout_ms: Annotated[int, Field(ge=100, le=120_000)] = 15_000


class Marketplace(BaseModel):
    # strict: ``concurrency = "8"`` or ``enabled = "yes"`` is an error naming the key, not a guess
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    title: str | None = None
    shape: str
    """One of ``crawler.shapes.SHAPES``."""
    base_url: str
    start_urls: list[str] = []
    sitemap_urls: list[str] = []
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    default_shipping: Annotated[Decimal, Field(ge=0, strict=False)] | None = None
    enabled: bool = True
    obey_robots: bool = True
    concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    delay: Annotated[float, Field(ge=0, le=60)] = 0.0
    max_pages: Annotated[int, Field(ge=1)] | None = None
    autothrottle: bool = True
    """Scrapy's AutoThrottle: slow down when the shop's responses slow down (target: ``concurrency``)."""
    user_agent: Annotated[str, Field(min_length=1)] | None = None
    """Send this User-Agent instead of bijia's own (which names the project and its URL)."""
    http_cache: bool = False
    """Development: keep responses in ``.cache/`` and revalidate them (ETag / Last-Modified, RFC 2616)."""
    browser: BrowserOptions = BrowserOptions()
    allow_hosts: list[str] = []
    """Hosts the crawl may follow besides those of its URLs (``cdn.shop.com``, ``*.shop.com``); a private
    address (loopback, link-local, 10/8 …) only as ``host:port`` (see ``crawler.urlpolicy``)."""
    limits: Limits = Limits()
    """Caps on one crawl: requests, response size and time, links and offers per page (``crawler.limits``)."""
    map: FieldMap | None = None
    """The field map (``shape = "fieldmap"``), or fields over a preset's (``browser``, ``instant``)."""

    @field_validator("shape")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        if value not in SHAPES:
            raise ValueError(f"Input should be {', '.join(repr(s) for s in SHAPES)}, not {value!r}")
        return value

    @model_validator(mode="after")
    def _map_fits_shape(self) -> Marketplace:
        if self.shape == "fieldmap" and (self.map is None or self.map.items is None):
            raise ValueError("shape 'fieldmap' needs [marketplace.map] with items and fields")
        if self.map is not None and self.shape not in MAP_SHAPES:
            raise ValueError(f"a map applies to the shapes {', '.join(MAP_SHAPES)}, not {self.shape!r}")
        if self.shape == "instant" and self.map is not None and self.map.format is None:
            # the instant preset reads JSON: its overrides are JMESPaths
            self.map = FieldMap.model_validate({**self.map.model_dump(exclude_unset=True), "format": "json"})
        return self

    @field_validator("base_url", "start_urls", "sitemap_urls")
    @classmethod
    def _http_urls(cls, value: str | list[str]) -> str | list[str]:
        for url in [value] if isinstance(value, str) else value:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"not an http(s) URL: {url!r}")
        return value

    def url(self, path: str = "") -> str:
        """``base_url`` joined with ``path`` (no double slashes)."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/") if path else self.base_url

    @property
    def display_name(self) -> str:
        return self.title or self.name


class AlertsOptions(BaseModel):
    """``[alerts]``: where price/stock alerts of ``bijia run`` go and what counts as a change."""

    model_config = ConfigDict(extra="forbid", strict=True)
    file: str | None = None
    """JSON lines file the alerts are appended to (default: ``<database stem>.alerts.jsonl``)."""
    webhook_url: str | None = None
    """POSTed a JSON body ``{"run_id", "alerts": [...]}`` after each run with alerts."""
    webhook_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    drop_percent: Annotated[float, Field(gt=0, le=100)] = 5.0
    rise_percent: Annotated[float, Field(gt=0)] = 5.0
    firehose: bool = False
    """Also alert on every listing's drop/rise/stock change and new lowest marketplace, for all products
    (``webhook_url`` and channels with ``firehose = true`` get them); otherwise only watched products alert."""
    channel: list[Channel] = []
    """``[[alerts.channel]]``: webhook, email, wecom, dingtalk, feishu (``crawler.alert_config``)."""
    feed_entries: Annotated[int, Field(ge=1, le=1000)] = 100
    """Entries in the Atom feed ``bijia serve`` serves at ``/alerts.atom``."""

    @field_serializer("webhook_url")
    def _redacted(self, value: str | None) -> str | None:
        return None if value is None else redact_url(value)

    @field_validator("channel")
    @classmethod
    def _unique_channel_names(cls, value: list[Channel]) -> list[Channel]:
        names = [c.name for c in value if c.name]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate channel name in {names}")
        return value

    def channel_names(self) -> list[str]:
        return channel_names(self.channel)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"not an http(s) URL: {value!r}")
        return value


class RunOptions(BaseModel):
    """``[run]``: how ``bijia run`` keeps state between runs."""

    model_config = ConfigDict(extra="forbid", strict=True)
    gone_after_runs: Annotated[int, Field(ge=1, le=1000)] = 3
    """An offer not seen by this many successful crawls of its marketplace in a row is marked gone."""
    http_cache: bool = True
    """Keep responses and revalidate them with conditional requests (ETag / Last-Modified)."""
    snapshots_dir: str | None = None
    """Where published snapshots go (default: ``snapshots`` next to the database)."""
    batch_size: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """Offers per staging write (default: the crawler's ``BIJIA_BATCH_SIZE``); a killed run keeps what it
    staged, so smaller batches lose less crawling."""
    match_workers: Annotated[int, Field(ge=1, le=256)] | None = None
    """Processes that score candidate pairs when the run matches (default: every usable core)."""
    max_minutes: Annotated[float, Field(gt=0, le=10_080)] = 360
    """A run still going after this many minutes is stopped (status interrupted, exit 4, an error logged);
    a later run stops a lock holder stuck well past it."""


class MarketplacesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    marketplace: list[Marketplace]
    alerts: AlertsOptions = AlertsOptions()
    run: RunOptions = RunOptions()

    @field_validator("marketplace")
    @classmethod
    def _unique_names(cls, value: list[Marketplace]) -> list[Marketplace]:
        seen: set[str] = set()
        for m in value:
            if m.name in seen:
                raise ValueError(f"duplicate marketplace name {m.name!r}")
            seen.add(m.name)
        if not value:
            raise ValueError("no [[marketplace]] entries")
        return value


def load_marketplaces(
    path: Path | str | None = None, *, only: list[str] | None = None, include_disabled: bool = False
) -> list[Marketplace]:
    """Load and validate a marketplaces file (the bundled demo one by default).

    ``${NAME}`` in a string value is replaced by the environment variable ``NAME``.
    ``only`` keeps the named marketplaces (unknown names are an error).
    """
    return select_marketplaces(load_config(path), path, only, include_disabled)


def load_config(path: Path | str | None = None) -> MarketplacesFile:
    """The whole marketplaces file: marketplaces plus the optional ``[alerts]`` and ``[run]`` tables."""
    path = Path(path) if path is not None else DEMO_MARKETPLACES
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read marketplaces file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    expanded = cast(dict[str, Any], _expand_vars(raw, path, text))  # a TOML document is a table
    try:
        return MarketplacesFile.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, text, expanded)) from None


def select_marketplaces(
    parsed: MarketplacesFile,
    path: Path | str | None = None,
    only: list[str] | None = None,
    include_disabled: bool = False,
) -> list[Marketplace]:
    """The enabled marketplaces of a loaded file, or only the named ones (unknown names are an error)."""
    path = Path(path) if path is not None else DEMO_MARKETPLACES
    chosen = [m for m in parsed.marketplace if include_disabled or m.enabled]
    if only:
        known = {m.name for m in parsed.marketplace}
        unknown = sorted(set(only) - known)
        if unknown:
            raise ConfigError(
                f"{path}: unknown marketplace(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        chosen = [m for m in parsed.marketplace if m.name in only]
    return chosen


def _expand_vars(value: object, path: Path, text: str) -> object:
    if isinstance(value, dict):
        return {k: _expand_vars(v, path, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_vars(v, path, text) for v in value]
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                line = _line_of(text, match.group(0))
                raise ConfigError(
                    f"{path} line {line}: ${{{name}}} is used but the environment variable {name} is not set"
                )
            return os.environ[name]

        return _VAR.sub(sub, value)
    return value


def _line_of(text: str, needle: str, start_line: int = 1) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if number >= start_line and needle in line:
            return number
    return start_line


def _key_line(text: str, keys: list[str], start: int) -> int:
    """The line of the deepest of ``keys`` (a path such as map → fields → price) from line ``start``:
    each key is looked for as a word after the line of the one before."""
    lines = text.splitlines()
    line = start
    for key in keys:
        if key in ("function-after", "function-before", "function-wrap"):  # pydantic's validator steps
            continue
        word = re.compile(rf"(?<![\w-]){re.escape(key)}(?![\w-])")
        line = next((n for n in range(line, len(lines) + 1) if word.search(lines[n - 1])), line)
    return line


def _table_line(text: str, index: int) -> int:
    """Line number of the ``index``-th ``[[marketplace]]`` header."""
    count = -1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("[[marketplace]]"):
            count += 1
            if count == index:
                return number
    return 1


def _describe(exc: ValidationError, path: Path, text: str, raw: dict) -> str:
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where, line = "", 1
        if len(loc) >= 2 and loc[0] == "marketplace" and isinstance(loc[1], int):
            entry = raw["marketplace"][loc[1]]
            name = entry.get("name", f"#{loc[1] + 1}") if isinstance(entry, dict) else f"#{loc[1] + 1}"
            where = f"marketplace {name!r}: "
            line = _table_line(text, loc[1])
            if err["type"] != "missing":
                # a map's own checks name the key first in the message: "price: not a JMESPath …"
                named = re.match(r"^([\w.-]+): ", str(err["msg"]).removeprefix("Value error, "))
                keys = [str(k) for k in loc[2:] if isinstance(k, str)]
                line = _key_line(text, keys + (named.group(1).split(".") if named else []), line)
            loc = loc[2:]
        elif len(loc) >= 2 and loc[0] in ("alerts", "run"):
            line = _line_of(text, f"[{loc[0]}]")
            if err["type"] != "missing":
                line = _line_of(text, str(loc[1]), line)
        key_path = ".".join(str(k) for k in loc) or ("" if where else "(file)")
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{path} line {line}: {where}{key_path + ': ' if key_path else ''}{message}")
    return "\n".join(lines)
