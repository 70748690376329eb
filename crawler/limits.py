"""How much one crawl of a marketplace may take, and what its stats say about the limits it met.

``Limits`` is the ``limits`` table of a ``[[marketplace]]`` (``limits = { max_requests = 5000 }``). The
guards in ``crawler.guards`` enforce it and count what they cut as ``bijia/limits/<name>``; URLs the
policy refused are ``bijia/refused/<reason>`` and fields cleared before storing ``bijia/cleared/<reason>``.
``limit_notes`` turns those counters into the words ``bijia crawl``/``run`` print beside a marketplace.
A limit that cut the crawl short (pages not read, a response dropped) makes the marketplace *degraded*:
what was read is published, and the report says what was left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

LIMITS = "bijia/limits/"
REFUSED = "bijia/refused/"
CLEARED = "bijia/cleared/"
REJECTED = "bijia/errors/storage_rejected"
DEFAULT_MAX_PAGES = 10_000
"""A walk (category pages, API pages, sitemaps) stops here unless the marketplace sets ``max_pages``."""
MB = 2**20


class Limits(BaseModel):
    """Per-marketplace caps. The defaults let a large real shop through and stop a hostile one."""

    model_config = ConfigDict(extra="forbid", strict=True)
    max_requests: Annotated[int, Field(ge=1)] = 200_000
    """Requests one crawl may schedule (listing, API and product pages); the rest are not followed."""
    max_response_mb: Annotated[float, Field(gt=0, le=1024)] = 32
    """Largest response body in MB, after decompression (a gzip bomb stops here); larger ones are dropped."""
    warn_response_mb: Annotated[float, Field(gt=0, le=1024)] = 8
    """Log a warning for a body larger than this."""
    download_timeout: Annotated[float, Field(gt=0, le=600)] | None = None
    """Seconds one response may take in all (connecting, headers and the whole body, however slowly it
    drips); default the crawler's ``DOWNLOAD_TIMEOUT`` (30 s)."""
    max_links_per_page: Annotated[int, Field(ge=1)] = 50_000
    """Links followed from one page (a sitemap holds at most 50,000); the rest of the page is not read."""
    max_offers_per_page: Annotated[int, Field(ge=1)] = 50_000
    """Offers kept from one page; the rest are dropped."""

    @property
    def max_bytes(self) -> int:
        return int(self.max_response_mb * MB)

    @property
    def warn_bytes(self) -> int:
        return int(min(self.warn_response_mb, self.max_response_mb) * MB)


# counter name → (does hitting it cut the crawl short?, what to say; {n} the count, {limit} the cap)
NOTES: dict[str, tuple[bool, str]] = {
    "max_requests": (True, "request cap reached: {n} link(s) not followed (limits.max_requests = {limit})"),
    "max_pages": (True, "page cap reached: {n} page(s) not followed (max_pages = {limit})"),
    "links_per_page": (True, "{n} page(s) with more links than limits.max_links_per_page = {limit}"),
    "offers_per_page": (True, "{n} offer(s) over limits.max_offers_per_page = {limit} dropped"),
    "response_too_large": (True, "{n} response(s) over limits.max_response_mb = {limit} dropped"),
    "timeout": (True, "{n} download(s) cut at the total timeout of {limit} s"),
    "redirect_loop": (True, "{n} page(s) in a redirect loop"),
    "repeated_page": (False, "pagination stopped: {n} page(s) repeated an earlier page"),
}


def limit_value(name: str, market: Any, timeout: float) -> object:
    """The configured cap a counter refers to (``market``: a ``Marketplace`` or ``None``)."""
    limits: Limits = getattr(market, "limits", None) or Limits()
    values = {
        "max_requests": limits.max_requests,
        "max_pages": getattr(market, "max_pages", None) or DEFAULT_MAX_PAGES,
        "links_per_page": limits.max_links_per_page,
        "offers_per_page": limits.max_offers_per_page,
        "response_too_large": limits.max_response_mb,
        "timeout": limits.download_timeout or timeout,
    }
    return values.get(name, "")


def limit_notes(
    stats: Mapping[str, Any], market: Any = None, timeout: float = 30.0
) -> tuple[list[str], bool]:
    """(notes, cut short?) from a crawl's stats: the limits it hit, offers the database refused, then the
    URLs and fields it refused. ``timeout`` is the crawler's ``DOWNLOAD_TIMEOUT``."""
    notes, cut = [], False
    for name, (cuts, text) in NOTES.items():
        n = int(stats.get(LIMITS + name, 0))
        if n:
            limit = limit_value(name, market, timeout)
            shown = (
                f"{limit:g}"
                if isinstance(limit, float)
                else f"{limit:,}"
                if isinstance(limit, int)
                else limit
            )
            notes.append(text.format(n=f"{n:,}", limit=shown))
            cut = cut or cuts
    rejected = int(stats.get(REJECTED, 0))
    if rejected:
        notes.append(f"{rejected:,} offer(s) the database refused (see the log)")
    unread = int(stats.get("bijia/pages_without_product", 0))
    if unread:
        notes.append(f"{unread:,} product page(s) without a readable product")
    refused = _counts(stats, REFUSED)
    if refused:
        notes.append(
            "refused " + ", ".join(f"{n:,} {why.replace('_', ' ')}" for why, n in refused) + " link(s)"
        )
    cleared = _counts(stats, CLEARED)
    if cleared:
        notes.append("cleared " + ", ".join(f"{why.replace('_', ' ')} ×{n:,}" for why, n in cleared))
    return notes, cut


def _counts(stats: Mapping[str, Any], prefix: str) -> list[tuple[str, int]]:
    return sorted((k.removeprefix(prefix), int(v)) for k, v in stats.items() if k.startswith(prefix) and v)
