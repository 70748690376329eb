"""JSON documents as shops serve them: an API body (JSON, or JSONP ``callback({...})``), or data embedded in
a page's ``<script>`` (``__NEXT_DATA__``, ``window.__INITIAL_STATE__ = {...}``, ``g_page_config``,
``__NUXT__``, ``pageConfig``). JavaScript object literals (unquoted keys, single quotes, trailing commas)
are read with chompjs. Numbers that are not integers are ``Decimal`` (prices stay exact).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import chompjs
from parsel import Selector

_DECIMAL = {"parse_float": Decimal}
_SELECTOR_START = ("#", ".", "[", "script")


class NotJson(ValueError):
    """The body (or the named script) holds no JSON the engine can read."""


def parse_json(text: str) -> Any:
    """A JSON body; JSONP and JavaScript literals are accepted too."""
    stripped = text.strip().lstrip("\ufeff")
    try:
        return json.loads(stripped, parse_float=Decimal)
    except ValueError:
        pass
    try:
        return chompjs.parse_js_object(stripped, loader_kwargs=_DECIMAL)
    except ValueError as exc:
        raise NotJson(f"not JSON: {exc}") from None


def is_script_selector(script: str) -> bool:
    return script.startswith(_SELECTOR_START)


def script_json(html: str | Selector, script: str) -> Any:
    """The JSON a page embeds: ``script`` is a selector of the ``<script>`` (``#__NEXT_DATA__``) or the
    name of the variable it assigns (``window.__INITIAL_STATE__``, ``g_page_config``)."""
    if is_script_selector(script):
        sel = html if isinstance(html, Selector) else Selector(text=html, type="html")
        body = sel.css(f"{script}::text").get()
        if body is None:
            raise NotJson(f"no element {script!r} on the page")
        return parse_json(body)
    source = html.get() if isinstance(html, Selector) else html
    match = re.search(rf"{re.escape(script)}\s*=\s*", source)
    if match is None:
        raise NotJson(f"no assignment to {script} on the page")
    try:
        return chompjs.parse_js_object(source[match.end() :], loader_kwargs=_DECIMAL)
    except ValueError as exc:
        raise NotJson(f"{script}: not a JavaScript object ({exc})") from None


ASSIGNMENT = re.compile(
    r"(window\.__[A-Za-z_]+__|window\.[A-Za-z_$][\w$]*|__[A-Z_]+__|g_page_config|pageConfig|"
    r"var\s+[A-Za-z_$][\w$]*)\s*=\s*[\[{]"
)


def embedded_candidates(html: str) -> list[tuple[str, Any]]:
    """Every JSON a page embeds, as (how to find it again, data): ``<script type=application/json>`` with
    an id, and variable assignments in scripts. JSON-LD is left to the ``jsonld`` shape."""
    sel = Selector(text=html, type="html")
    found: list[tuple[str, Any]] = []
    for node in sel.xpath("//script[@id][contains(@type, 'json') and not(contains(@type, 'ld+json'))]"):
        try:
            found.append((f"#{node.attrib['id']}", parse_json(node.xpath("string()").get() or "")))
        except NotJson:
            continue
    scripts = sel.xpath("//script[not(@src)][not(contains(@type, 'json'))]/text()").getall()
    for body in scripts if "<script" in html.lower() else [html]:  # a saved script is its own text
        for match in ASSIGNMENT.finditer(body):
            name = match.group(1).removeprefix("var").strip()
            try:
                found.append((name, chompjs.parse_js_object(body[match.end() - 1 :], loader_kwargs=_DECIMAL)))
            except ValueError:
                continue
    return found
