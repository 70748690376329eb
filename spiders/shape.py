"""What a shape module (``spiders/<shape>.py``) declares: ``SHAPE = Shape(name, spider, probe)``.

The probe looks at a shop's URL through ``get`` (plain HTTP, provided by the caller) and says whether the
shop has this shape, with the keys of its ``[[marketplace]]`` block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spiders.pages.embedded import NotJson, parse_json


@dataclass
class Fetched:
    """One HTTP answer as the probe and ``marketplaces add`` see it (errors are data, never raised)."""

    url: str
    status: int
    content_type: str
    body: bytes
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300

    def json(self) -> Any:
        try:
            return parse_json(self.body.decode("utf-8-sig"))
        except (NotJson, UnicodeDecodeError):
            return None

    def describe(self) -> str:
        return f"{self.url}: {self.error or f'HTTP {self.status}'}"


Get = Callable[[str], Fetched]


@dataclass
class Found:
    """A probe's finding: the shape, what it saw, and the keys of the ``[[marketplace]]`` block."""

    shape: str
    notes: list[str]
    entry: dict[str, Any] = field(default_factory=dict)
    """``start_urls``, ``sitemap_urls``, ``map`` (a dict, as TOML would hold it)…"""
    comments: dict[str, str] = field(default_factory=dict)
    """Comments for keys of the proposed map (``fields.price`` → ``"¥5,999.00"`` seen there)."""


Probe = Callable[[str, str, Get], Found | None]
"""(the URL given, the shop's base URL, get) → a finding, or ``None`` when the shop is not this shape."""


@dataclass(frozen=True)
class Shape:
    name: str
    spider: type
    extract: Callable[..., Any]
    """The page object: ``extract(body, url, marketplace, ...) -> list[Offer]``."""
    probe: Probe | None = None
