"""The page as a shopper sees it: one lxml tree, what is hidden, visible text, the main heading.

No CSS engine runs here, so "visible" means: not in a script/style/template, not under an element that
the markup itself hides (``hidden``, ``display:none``/``visibility:hidden`` inline or in a page
``<style>`` rule for a class, the usual hiding classes such as ``sr-only``, ``d-none``, ``…-hidden``).
Elements are numbered in document order so that "near the heading" can be measured.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import lxml.html
from lxml.html import HtmlElement

from spiders.pages._common import clean

SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "select", "option"}
)
BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "br", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"dd", "dt", "dl", "section", "article", "header", "footer", "aside", "form", "label", "button", "nav"}
)
_HIDING_CLASS = re.compile(
    r"^(?:hidden|hide|hdn|d-none|invisible|sr-only|sr-text|visually-?hidden|screen-?reader(?:-text|-only)?"
    r"|offscreen|is-hidden|u-hidden|a-offscreen|element-invisible|show-for-sr)$"
    r"|[-_](?:hdn|offscreen|sr-only|visually-?hidden)$",
    re.IGNORECASE,
)
_HIDDEN_STYLE = re.compile(r"(?<![-\w])(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)
_STYLE_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_CLASS_SELECTOR = re.compile(r"^\s*\.([\w-]+)\s*$")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def parse_tree(text: str) -> HtmlElement:
    """The page as an lxml tree (an empty document for text lxml cannot read)."""
    text = _XML_DECLARATION.sub("", text, count=1)  # lxml refuses str input that declares its encoding
    try:
        return lxml.html.document_fromstring(text or "<html></html>")
    except (lxml.etree.ParserError, ValueError):
        return lxml.html.document_fromstring("<html></html>")


def hidden_classes(tree: HtmlElement) -> frozenset[str]:
    """Class names the page's own ``<style>`` rules hide (``.x{display:none}``)."""
    found: set[str] = set()
    for style in tree.iter("style"):
        for selectors, body in _STYLE_RULE.findall(style.text or ""):
            if _HIDDEN_STYLE.search(body):
                found.update(m.group(1) for s in selectors.split(",") if (m := _CLASS_SELECTOR.match(s)))
    return frozenset(found)


def is_hidden(el: HtmlElement, page_hidden: frozenset[str]) -> bool:
    """Does the markup hide this element (and so everything in it)?"""
    if not isinstance(el.tag, str) or el.tag in SKIPPED_TAGS:
        return True
    if el.get("hidden") is not None or el.get("type") == "hidden":
        return True
    style = el.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    classes = el.get("class")
    return bool(classes) and any(_HIDING_CLASS.search(c) or c in page_hidden for c in classes.split())


@dataclass(frozen=True)
class Seen:
    """A visible element, its place in document order and the tokens of itself and its ancestors."""

    element: HtmlElement
    position: int
    tokens: str
    """Lower-cased ``tag|class|id|itemprop`` of the element and its ancestors, innermost first, one a line."""

    def near(self, levels: int) -> str:
        """The tokens of the element and its ``levels - 1`` nearest ancestors."""
        return "\n".join(self.tokens.split("\n", levels)[:levels])


def walk(tree: HtmlElement, page_hidden: frozenset[str]) -> Iterator[Seen]:
    """Every visible element of the body in document order (hidden subtrees are skipped)."""
    body = tree.find("body")
    root = body if body is not None else tree
    stack: list[tuple[HtmlElement, str]] = [(root, "")]
    position = 0
    while stack:
        el, outer = stack.pop()
        if is_hidden(el, page_hidden):
            continue
        tokens = f"{describe(el)}\n{outer}"[:800] if el is not root else ""
        yield Seen(el, position, tokens)
        position += 1
        stack.extend((child, tokens) for child in reversed(el) if isinstance(child.tag, str))


def describe(el: HtmlElement) -> str:
    """``tag.class#id@itemprop`` of one element, lower-cased."""
    parts = [el.tag, el.get("class") or "", el.get("id") or "", el.get("itemprop") or ""]
    return "|".join(parts).lower()


def visible_text(el: HtmlElement, page_hidden: frozenset[str], limit: int = 2000) -> str:
    """The text a shopper reads in ``el``: hidden descendants left out, blocks separated by a space,
    inline pieces joined as they are (``£`` ``48`` ``.99`` → ``£48.99``). Past about ``limit``
    characters the text is cut and ends with ``…``."""
    parts: list[str] = []
    size = 0

    def keep(text: str | None) -> None:
        nonlocal size
        if text:
            parts.append(text)
            size += len(text.strip())

    def add(node: HtmlElement) -> None:
        if size > limit or is_hidden(node, page_hidden):
            return
        block = node.tag in BLOCK_TAGS
        if block:
            parts.append(" ")
        keep(node.text)
        for child in node:
            if size > limit:
                parts.append("…")
                return
            if isinstance(child.tag, str):
                add(child)
            keep(child.tail)
        if block:
            parts.append(" ")

    add(el)
    return clean("".join(parts)) or ""


def full_text(el: HtmlElement) -> str:
    """All the text in ``el``, hidden parts included (what markup readers such as microdata take)."""
    return clean(el.text_content()) or ""
