"""The probe of the ``fieldmap`` shape (``bijia marketplaces add`` with no ``--shape``): a field map
proposed from a page's own bytes — an API's JSON, the JSON the page embeds, or its repeated price blocks.
The rendered-page proposal (Chromium) is ``spiders.proposal_render``.
"""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector

from core.encoding import to_text
from spiders.pages.embedded import NotJson, embedded_candidates, parse_json
from spiders.proposal import JsonProposal, propose_json, propose_pagination
from spiders.proposal_dom import propose_dom
from spiders.shape import Found, Get


def propose(body: bytes, url: str, content_type: str = "") -> Found | None:
    """A field map for a page from its own bytes (no browser): an API's JSON, the JSON the page embeds,
    or its repeated price blocks."""
    text = to_text(body, content_type)
    stripped = text.lstrip()[:1]
    if "json" in content_type or stripped in ("{", "[") or re.match(r"^\s*[\w$.]+\s*\(", text):
        try:
            data = parse_json(text)
        except NotJson:
            data = None
        proposal = propose_json(data) if data is not None else None
        if proposal is not None:
            notes = [f"a JSON list of {proposal.count} items at {proposal.items}"]
            return _proposed(
                {"format": "json", "items": proposal.items, "fields": proposal.fields}, data, proposal, notes
            )
        if data is not None:
            return None  # JSON without an item list: no HTML to look at either
    best = None
    for locator, data in embedded_candidates(text):
        proposal = propose_json(data)
        if proposal is not None and (best is None or proposal.count > best[2].count):
            best = (locator, data, proposal)
    if best is not None:
        locator, data, proposal = best
        notes = [f"{proposal.count} items in the JSON the page embeds ({locator}, at {proposal.items})"]
        return _proposed(
            {"script": locator, "items": proposal.items, "fields": proposal.fields}, data, proposal, notes
        )
    dom = propose_dom(text)
    if dom is None or "price" not in dom.fields or "title" not in dom.fields:
        return None
    entry: dict[str, Any] = {"items": dom.items, "fields": dom.fields}
    following = next_link(text)
    if following:
        entry["pagination"] = {"kind": "next_link", "next": following}
    notes = [f"{dom.count} repeated blocks with prices in the HTML ({dom.items})"]
    return Found("fieldmap", notes, {"map": entry}, {f"fields.{k}": v for k, v in dom.examples.items()})


def _proposed(entry: dict[str, Any], data: Any, proposal: JsonProposal, notes: list[str]) -> Found:
    pagination = propose_pagination(data, proposal.items)
    if pagination:
        entry["pagination"] = pagination
    return Found("fieldmap", notes, {"map": entry}, {f"fields.{k}": v for k, v in proposal.examples.items()})


def next_link(text: str) -> str | None:
    """A selector of the page's "next page" link (``rel=next``, 下一页, Next)."""
    sel = Selector(text=text, type="html")
    if sel.css("a[rel~=next]"):
        return "a[rel~=next]::attr(href)"
    for anchor in sel.css("a[href]"):
        label = "".join(anchor.css("::text").getall()).strip()
        if label in ("下一页", "下一页>", "下页", "Next", "next", "Next ›", "›", "»") and anchor.attrib.get(
            "href"
        ) not in ("#", ""):
            classes = (anchor.attrib.get("class") or "").split()
            return f"a.{classes[0]}::attr(href)" if classes else f"//a[normalize-space()='{label}']/@href"
    return None


def probe(url: str, base: str, get: Get) -> Found | None:
    page = get(url)
    if not page.ok:
        return None
    found = propose(page.body, page.url, page.content_type)
    if found is not None:
        found.entry["start_urls"] = [url]
    return found
