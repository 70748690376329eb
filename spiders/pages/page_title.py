"""The product's name from the page's ``<title>`` when no heading names it: the visible element the
``<title>`` quotes (``<p>TEMPUR Deluxe-HD™ Mattress</p>`` under "TEMPUR Deluxe-HD™ Mattress | Tempur"),
else the ``<title>`` without the shop's name ("retrosixty - Charlotte Perriand Infraphil lamp…")."""

from __future__ import annotations

import re

from spiders.pages.buybox import elsewhere
from spiders.pages.visible import Seen, visible_text

QUOTED_SHARE = 0.4
"""An element is the heading the ``<title>`` quotes when its text is at least this share of it."""
_MIN_NAME = 8
_SEPARATORS = re.compile(r"\s+[-|–—:·•»]+\s+|\s*[|｜]\s*")
_NAME_WORDS = re.compile(r"[^\W_]+")


def quoted_heading(seen: list[Seen], doc_title: str, page_hidden: frozenset[str]) -> Seen | None:
    """The longest visible element (the first of equals) whose whole text the ``<title>`` holds and
    that is at least ``QUOTED_SHARE`` of it; breadcrumbs, menus and product lists are left out."""
    title = _plain(doc_title)
    if len(title) < _MIN_NAME:
        return None
    best: tuple[int, Seen] | None = None
    for s in seen:
        if len(s.element) > 3 or elsewhere(s.tokens):
            continue
        text = _plain(visible_text(s.element, page_hidden, len(title) + 1))
        long_enough = len(text) >= max(_MIN_NAME, QUOTED_SHARE * len(title))
        if long_enough and text in title and (best is None or len(text) > best[0]):
            best = (len(text), s)
    return best[1] if best else None


def title_name(doc_title: str, host: str | None) -> str | None:
    """The ``<title>``'s longest part once split at its separators, leaving out the part that is the
    shop's name (a word of the host name: ``retrosixty`` of ``www.retrosixty.co.uk``)."""
    labels = {label.lower() for label in (host or "").split(".") if len(label) > 3}
    parts = [p.strip() for p in _SEPARATORS.split(doc_title) if p.strip()]
    kept = [p for p in parts if "".join(_NAME_WORDS.findall(p.lower())) not in labels]
    name = max(kept, key=len, default=None)
    return name if name and len(name) >= _MIN_NAME else None


def _plain(text: str) -> str:
    return " ".join(text.split())
