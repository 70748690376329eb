"""The marketplaces file from the command line: ``list``, ``add`` (with a probe that finds the shape) and
``check`` (fetch one page per marketplace and say what it yields).

Plain HTTP (urllib) with a timeout and bijia's User-Agent; no Scrapy, no browser. ``add`` appends a
``[[marketplace]]`` block to the TOML file as text (comments and order of the file are kept) and then
validates the whole file with ``load_config``; an invalid result is rolled back.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
import tomllib
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler import settings
from crawler.config import ConfigError, Marketplace, load_config, select_marketplaces
from crawler.shapes import SHAPES
from service.errors import UserError
from spiders.jsonld_probe import discover_sitemaps
from spiders.registry import REGISTRY
from spiders.shape import Fetched, Found

DEFAULT_TIMEOUT = 10.0


# --- fetching ---------------------------------------------------------------------------------------


def fetch(url: str, *, timeout: float = DEFAULT_TIMEOUT, agent: str | None = None) -> Fetched:
    """GET ``url``; HTTP errors and network failures are a ``Fetched`` with ``error`` set, never raised."""
    request = urllib.request.Request(
        url, headers={"User-Agent": agent or settings.USER_AGENT, "Accept-Encoding": "gzip"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return Fetched(response.url, response.status, response.headers.get("Content-Type", ""), body)
    except urllib.error.HTTPError as exc:
        return Fetched(url, exc.code, exc.headers.get("Content-Type", ""), b"", f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Fetched(url, 0, "", b"", f"cannot fetch: {reason}")


# --- probing ----------------------------------------------------------------------------------------


@dataclass
class Probe:
    url: str
    shape: str | None
    base_url: str
    start_urls: list[str] = field(default_factory=list)
    sitemap_urls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    map: dict[str, Any] | None = None
    """A proposed field map (``fieldmap`` shape), as the TOML will hold it."""
    comments: dict[str, str] = field(default_factory=dict)


def probe(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> Probe:
    """Find a shop's shape from its URL: each shape's probe in ``crawler.shapes.SHAPES`` order (Shopify
    ``products.json``, the WooCommerce Store API, the instant-retail ``api/stores``, schema.org products,
    then a field map proposed from the page's JSON). ``shape`` is ``None`` when nothing fits."""
    base = url if url.endswith("/") else url + "/"
    found = Probe(url, None, base)
    pages: dict[str, Fetched] = {}

    def get(target: str) -> Fetched:
        if target not in pages:
            pages[target] = fetch(target, timeout=timeout)
        return pages[target]

    for shape in REGISTRY.values():
        finding = shape.probe(url, base, get) if shape.probe else None
        if finding is not None:
            return _adopt(found, finding)
    page = get(url)
    found.notes.append(
        page.describe()
        if not page.ok
        else "no catalogue API, no schema.org products, no item list in the page's JSON"
    )
    return found


def _adopt(found: Probe, finding: Found) -> Probe:
    found.shape = finding.shape
    found.notes += finding.notes
    found.start_urls = list(finding.entry.get("start_urls", []))
    found.sitemap_urls = list(finding.entry.get("sitemap_urls", []))
    found.map = finding.entry.get("map")
    found.comments = dict(finding.comments)
    return found


# --- add --------------------------------------------------------------------------------------------


def suggest_name(url: str, taken: set[str]) -> str:
    """``https://www.shop-a.example/store/`` → ``shop-a-store`` (lower-case, ≤ 40 chars, unique)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    local = host == "localhost" or host.replace(".", "").isdigit() or ":" in host
    path = [p for p in parts.path.split("/") if p][:1]
    words = path if local and path else [host.split(".")[0] if not local else "shop", *path]
    name = re.sub(r"[^a-z0-9_-]+", "-", "-".join(words).lower()).strip("-_")[:36] or "shop"
    name = name if name[0].isalnum() else f"m{name}"
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def toml_value(value: Any) -> str:
    """A TOML literal: strings as basic strings (JSON escaping is valid TOML), lists, numbers, booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def marketplace_block(entry: dict[str, Any], comment: str | None = None) -> str:
    lines = [f"# {line}" for line in (comment or "").splitlines() if line.strip()]
    lines.append("[[marketplace]]")
    lines += [f"{key} = {toml_value(value)}" for key, value in entry.items() if value not in (None, [], "")]
    return "\n".join(lines) + "\n"


def add_marketplace(
    config: Path,
    url: str,
    *,
    name: str | None = None,
    shape: str = "auto",
    title: str | None = None,
    currency: str | None = None,
    start_urls: list[str] | None = None,
    sitemap_urls: list[str] | None = None,
    default_shipping: Decimal | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[Marketplace, Probe]:
    """Append a validated ``[[marketplace]]`` for ``url`` to ``config`` (created if missing).

    ``shape="auto"`` probes the shop. Raises ``UserError`` when no shape fits or the name is taken, and
    ``ConfigError`` (with the file left as it was) when the file does not validate afterwards.
    """
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise UserError(f"not an http(s) URL: {url!r}")
    before = config.read_text(encoding="utf-8") if config.exists() else None
    taken = _names(config, before)
    if shape == "auto":
        found = probe(url, timeout=timeout)
        if found.shape is None:
            raise UserError(
                f"{url}: could not tell the shop's shape ({'; '.join(found.notes)}); "
                f"pass --shape {'|'.join(SHAPES)}"
            )
    else:
        found = Probe(url, shape, url if url.endswith("/") else url + "/", notes=[f"shape {shape} as given"])
        if shape == "jsonld" and not (start_urls or sitemap_urls):
            found.sitemap_urls = discover_sitemaps(found.base_url, lambda u: fetch(u, timeout=timeout))
            found.start_urls = [] if found.sitemap_urls else [url]
    name = name or suggest_name(url, taken)
    if name in taken:
        raise UserError(f"{config}: a marketplace named {name!r} exists already; pass --name")
    entry = {
        "name": name,
        "title": title,
        "shape": found.shape,
        "base_url": found.base_url,
        "start_urls": start_urls or found.start_urls,
        "sitemap_urls": sitemap_urls or found.sitemap_urls,
        "currency": currency,
        "default_shipping": default_shipping,
    }
    block = marketplace_block(entry, f"added by `bijia marketplaces add {url}`: " + "; ".join(found.notes))
    text = (before.rstrip("\n") + "\n\n" if before else "") + block
    _write(config, text)
    try:
        parsed = load_config(config)
    except ConfigError:
        _restore(config, before)
        raise
    return next(m for m in parsed.marketplace if m.name == name), found


def _names(config: Path, text: str | None) -> set[str]:
    """Marketplace names already in the file (which may have none yet); unreadable TOML is an error."""
    if text is None:
        return set()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        load_config(config)  # raises ConfigError naming the file and the problem
        raise
    entries = raw.get("marketplace")
    return {
        e["name"]
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, dict) and isinstance(e.get("name"), str)
    }


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically (a crash leaves the old file or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _restore(path: Path, before: str | None) -> None:
    if before is None:
        path.unlink(missing_ok=True)
    else:
        _write(path, before)


# --- list -------------------------------------------------------------------------------------------

LIST_COLUMNS = [
    "name",
    "shape",
    "base_url",
    "enabled",
    "currency",
    "concurrency",
    "delay",
    "obey_robots",
    "http_cache",
    "discovery",
]


def list_marketplaces(config: Path | None) -> list[dict[str, Any]]:
    rows = []
    for m in select_marketplaces(load_config(config), config, include_disabled=True):
        discovery = "sitemaps" if m.sitemap_urls else "start_urls" if m.start_urls else "base_url"
        rows.append(
            {
                "name": m.name,
                "shape": m.shape,
                "base_url": m.base_url,
                "enabled": m.enabled,
                "currency": m.currency,
                "concurrency": m.concurrency,
                "delay": m.delay,
                "obey_robots": m.obey_robots,
                "http_cache": m.http_cache,
                "discovery": discovery,
                "title": m.display_name,
            }
        )
    return rows


# --- check ------------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    name: str
    shape: str
    status: str  # ok | failed | unchecked
    url: str = ""
    offers: int = 0
    usable: int = 0
    title: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    problems: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = "; ".join(self.problems)
        return out


CHECK_COLUMNS = [
    "name",
    "shape",
    "status",
    "offers",
    "usable",
    "title",
    "price",
    "currency",
    "url",
    "problems",
]


def check_marketplaces(
    config: Path | None, names: list[str] | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> list[CheckResult]:
    """Fetch one page per marketplace (the enabled ones, or those named) and extract its offers."""
    markets = select_marketplaces(load_config(config), config, names or None)
    return [check_one(m, timeout=timeout) for m in markets]


def check_one(m: Marketplace, *, timeout: float = DEFAULT_TIMEOUT) -> CheckResult:
    """What one page of ``m`` yields: offers, the first title/price/currency, and what is wrong."""
    from crawler.pipelines import PricePipeline, ValidatePipeline
    from spiders.sample import NeedsBrowser, sample_offers

    result = CheckResult(m.name, m.shape, "failed")
    agent = m.user_agent or settings.USER_AGENT

    def get(url: str) -> Fetched:
        if m.obey_robots and not robots_allow(url, agent, timeout):
            return Fetched(url, 0, "", b"", "robots.txt disallows it (obey_robots = true)")
        return fetch(url, timeout=timeout, agent=agent)

    try:
        result.url, offers, result.problems = sample_offers(m, get)
    except NeedsBrowser as exc:
        result.status, result.url = "unchecked", exc.url
        result.problems.append(str(exc))
        return result
    prices, validate = PricePipeline(), ValidatePipeline()
    reasons: dict[str, int] = {}
    for offer in offers:
        prices.process_item(offer)
        if offer.shipping is None:
            offer.shipping = m.default_shipping
        if offer.currency is None:
            offer.currency = m.currency
        reason = validate.problem(offer)
        reasons[reason or "ok"] = reasons.get(reason or "ok", 0) + 1
    result.offers, result.usable = len(offers), reasons.pop("ok", 0)
    result.problems += [f"{n} offer(s) dropped: {reason}" for reason, n in sorted(reasons.items())]
    first = next((o for o in offers if validate.problem(o) is None), offers[0] if offers else None)
    if first is not None:
        result.title, result.price, result.currency = first.title, first.price, first.currency
    if not offers and not result.problems:
        result.problems.append("no offers on the page")
    result.status = "ok" if result.usable else "failed"
    return result


def robots_allow(url: str, agent: str, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Whether the host's robots.txt lets ``agent`` fetch ``url`` (no robots.txt: yes)."""
    from protego import Protego

    parts = urlsplit(url)
    robots = fetch(f"{parts.scheme}://{parts.netloc}/robots.txt", timeout=timeout, agent=agent)
    if not robots.ok:
        return True
    return Protego.parse(robots.body.decode("utf-8", "replace")).can_fetch(url, agent)
