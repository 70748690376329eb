"""The marketplaces file from the command line: ``list`` and ``add`` (with a probe that finds the shape or
proposes a field map). ``check`` is in ``service.marketplaces_check``.

The probe uses plain HTTP (urllib) with a timeout and bijia's User-Agent. ``add`` appends a
``[[marketplace]]`` block to the TOML file as text (comments and order of the file are kept) and then
validates the whole file with ``load_config``; an invalid result is rolled back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler import settings
from crawler.browser import BrowserNotFound
from crawler.config import Marketplace, load_config, select_marketplaces
from crawler.http_get import FetchError, bounded_get
from crawler.shapes import SHAPES
from crawler.urlpolicy import UrlPolicy
from service.errors import UserError
from service.marketplace_toml import append_block, existing_names, marketplace_block, validate_block
from spiders.jsonld_probe import discover_sitemaps
from spiders.pages.product_page import page_currency
from spiders.proposal_render import propose_rendered
from spiders.registry import REGISTRY
from spiders.sample import Sample, sample_crawl
from spiders.shape import Fetched, Found
from storage.fill_rates import FILL_FIELDS

DEFAULT_TIMEOUT = 10.0


# --- fetching ---------------------------------------------------------------------------------------


def fetch(
    url: str, *, timeout: float = DEFAULT_TIMEOUT, agent: str | None = None, policy: UrlPolicy | None = None
) -> Fetched:
    """GET ``url`` within ``timeout`` seconds in all; HTTP errors, network failures, a refused URL or
    redirect (``policy``, default: the URL's own host) and a body over the size cap are a ``Fetched``
    with ``error`` set, never raised (``crawler.http_get``)."""
    try:
        got = bounded_get(
            url, policy=policy or UrlPolicy.of([url]), agent=agent or settings.USER_AGENT, timeout=timeout
        )
    except FetchError as exc:
        return Fetched(url, exc.status, exc.content_type, b"", str(exc))
    return Fetched(got.url, got.status, got.content_type, got.body)


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
    currency: str | None = None
    """The currency the shop's page shows its prices in (``spiders.pages.product_page.page_currency``)."""


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
            return _page_currency(_adopt(found, finding), get(url))
    page = get(url)
    found.notes.append(
        page.describe()
        if not page.ok
        else "no catalogue API, no schema.org products, no item list in the page's JSON"
    )
    return found


def _page_currency(found: Probe, page: Fetched) -> Probe:
    """The currency a shop's HTML page shows its prices in (not asked of the API shapes)."""
    if found.shape in ("jsonld", "fieldmap") and page.ok and page.json() is None:
        found.currency = page_currency(page.body, page.url, page.content_type)
        if found.currency:
            found.notes.append(f"prices in {found.currency}")
    return found


def _adopt(found: Probe, finding: Found) -> Probe:
    found.shape = finding.shape
    if finding.shape == "fieldmap":  # a listing page or an API: the shop is the folder it is in
        found.base_url = urljoin(found.url, "./")
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


@dataclass
class Added:
    """What ``add_marketplace`` did: the marketplace, what the probe found, the TOML block, a preview."""

    marketplace: Marketplace
    found: Probe
    block: str
    written: bool
    preview: Sample | None = None

    def __iter__(self) -> Iterator[Any]:
        """``market, found = add_marketplace(…)`` as before the preview existed."""
        return iter((self.marketplace, self.found))

    @property
    def fill(self) -> dict[str, float]:
        offers = self.preview.offers if self.preview else []
        if not offers:
            return {}
        return {f: sum(1 for o in offers if o.get(f) not in (None, "")) / len(offers) for f in FILL_FIELDS}


PREVIEW_COLUMNS = ["title", "price", "final_price", "shipping", "in_stock", "seller"]
_PREVIEW_WIDTH = {"title": 28, "seller": 10}


def preview_rows(added: Added) -> list[dict[str, Any]]:
    """The first offers of the preview, long texts cut to fit a terminal."""
    offers = added.preview.offers[:10] if added.preview else []
    return [
        {
            k: str(o[k])[: _PREVIEW_WIDTH[k]] if k in _PREVIEW_WIDTH and o.get(k) else o.get(k)
            for k in PREVIEW_COLUMNS
        }
        for o in offers
    ]


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
    dry_run: bool = False,
    preview: bool = True,
) -> Added:
    """Add a validated ``[[marketplace]]`` for ``url`` to ``config`` (created if missing), and preview
    what one page of it gives (the real spider, as ``bijia crawl`` runs it).

    ``shape="auto"`` probes the shop: the standard shapes, then a field map proposed from the page's JSON
    or HTML, then from the page rendered in Chromium. ``dry_run`` only previews. Raises ``UserError``
    when nothing fits or the name is taken, and ``ConfigError`` (with the file left as it was) when the
    file does not validate afterwards.
    """
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise UserError(f"not an http(s) URL: {url!r}")
    before = config.read_text(encoding="utf-8") if config.exists() else None
    taken = existing_names(config, before)
    found = _find(url, shape, timeout, start_urls, sitemap_urls)
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
        "currency": currency or found.currency,
        "default_shipping": default_shipping,
    }
    comment = f"added by `bijia marketplaces add {url}`: " + "; ".join(found.notes)
    block = marketplace_block(entry, comment, found.map, found.comments)
    market = (validate_block if dry_run else append_block)(config, before, block, name)
    sample = sample_crawl([market], pages=1, items=10, timeout=timeout)[name] if preview else None
    return Added(market, found, block, not dry_run, sample)


def _find(
    url: str, shape: str, timeout: float, start_urls: list[str] | None, sitemap_urls: list[str] | None
) -> Probe:
    if shape == "auto":
        found = probe(url, timeout=timeout)
        if found.shape is None:
            found = probe_rendered(url, found, timeout)
        if found.shape is None:
            raise UserError(
                f"{url}: could not tell the shop's shape ({'; '.join(found.notes)}); "
                f"pass --shape {'|'.join(SHAPES)}"
            )
        return found
    found = Probe(url, shape, url if url.endswith("/") else url + "/", notes=[f"shape {shape} as given"])
    if shape == "jsonld" and not (start_urls or sitemap_urls):
        found.sitemap_urls = discover_sitemaps(found.base_url, lambda u: fetch(u, timeout=timeout))
        found.start_urls = [] if found.sitemap_urls else [url]
    if shape == "fieldmap":
        raise UserError("--shape fieldmap needs a map: leave --shape out to have one proposed")
    return found


def probe_rendered(url: str, found: Probe, timeout: float) -> Probe:
    """The page rendered in Chromium: a map from the JSON it fetched, or from its repeated price blocks."""
    try:
        finding = propose_rendered(url, timeout)
    except BrowserNotFound as exc:
        found.notes.append(f"cannot render the page: {exc}")
        return found
    except Exception as exc:  # noqa: BLE001 (Playwright's errors: a page that never loads, a crash)
        found.notes.append(f"rendering the page failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return found
    if finding is None:
        found.notes.append("rendered in Chromium: no repeated blocks with prices, no item JSON")
        return found
    found = _adopt(found, finding)
    found.start_urls = [url]
    return found


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
