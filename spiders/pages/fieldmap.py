"""The field-map engine's extraction: a page (HTML, JSON, JSON in a script, captured XHR JSON) and a map
(``crawler.fieldmap_config.FieldMap``) → ``Offer``s. Plain functions, no network.

    plan = compile_map(field_map, marketplace)
    offers = plan.offers(plan.document(text), page_url)

Expressions are compiled once per map. Simple dotted JSON paths (``price.current``) are read with dict
look-ups, which give what JMESPath gives for them, only faster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from functools import partial
from typing import Any

import jmespath
from parsel import Selector

from core.encoding import to_text
from core.offer import Offer
from crawler.config import Marketplace
from crawler.fieldmap_config import SCOPES, FieldMap, FieldRule, FieldValue, is_xpath
from spiders.pages._common import clean, url_path
from spiders.pages.embedded import parse_json, script_json
from spiders.pages.field_values import DEFAULT_PROCESSOR, Fragment, fragment, text, unit_attributes, url_value

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
Getter = Callable[[Any, "Scope"], Any]


@dataclass
class Scope:
    """What an expression can reach besides its item: the page, the parent item (variants) and the
    ``each`` element (a store, a category)."""

    page: Any = None
    parent: Any = None
    each: Any = None


# --- compiling expressions --------------------------------------------------------------------------


def _dotted(keys: list[str], obj: Any) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def json_getter(expression: str) -> Getter:
    scope = next((s for s in SCOPES if expression.startswith(s)), "")
    body = expression[len(scope) :]
    search: Callable[[Any], Any] = (
        partial(_dotted, body.split(".")) if _DOTTED.match(body) else jmespath.compile(body).search
    )
    if scope == "$page.":
        return lambda item, s: search(s.page)
    if scope == "$parent.":
        return lambda item, s: search(s.parent)
    if scope == "$each.":
        return lambda item, s: search(s.each)
    return lambda item, s: search(item)


def _node_text(node: Selector) -> str | None:
    if isinstance(node.root, str):
        return node.root
    return clean("".join(node.xpath(".//text()").getall()))


def html_getter(expression: str, attr: str | None = None, every: bool = False) -> Getter:
    """CSS or XPath, relative to the item (``$page.`` to the page); ``@name`` an attribute of the item.
    Returns the first non-empty text (every match when ``every``)."""
    on_page = expression.startswith("$page.")
    expr = expression.removeprefix("$page.").strip()
    if expr.startswith("@"):
        name = expr[1:]
        return (
            (lambda item, s: s.page.attrib.get(name)) if on_page else (lambda item, s: item.attrib.get(name))
        )
    xpath = expr if is_xpath(expr) else None
    css = None if xpath else expr + (f"::attr({attr})" if attr and "::" not in expr else "")

    def get(item: Any, s: Scope) -> Any:
        root = s.page if on_page else item
        nodes = root.xpath(xpath) if xpath else root.css(css)
        if attr and xpath:
            values = [n.attrib.get(attr) for n in nodes if not isinstance(n.root, str)]
        else:
            values = [_node_text(n) for n in nodes]
        values = [v for v in values if v not in (None, "")]
        if every:
            return values
        return values[0] if values else None

    return get


@dataclass
class FieldReader:
    """One way to read a field: a getter (or a constant), then regex and template."""

    getter: Getter | None
    regex: re.Pattern[str] | None = None
    template: str | None = None
    placeholders: dict[str, Getter] = dataclass_field(default_factory=dict)
    join: str | None = None
    const: Any = None

    def read(self, item: Any, scope: Scope) -> Any:
        value = self.const if self.getter is None else self.getter(item, scope)
        if isinstance(value, list):
            if self.join is not None:
                value = self.join.join(t for v in value if (t := text(v)))
            else:
                value = next((v for v in value if v not in (None, "", [], {})), None)
        if value is not None and self.regex is not None:
            match = self.regex.search(str(value))
            value = (match.group(1) if match.groups() else match.group(0)) if match else None
        if self.template is not None and (value is not None or self.getter is None):
            value = self._fill(value, item, scope)
        return value

    def _fill(self, value: Any, item: Any, scope: Scope) -> str | None:
        parts: dict[str, str] = {}
        for placeholder, getter in self.placeholders.items():
            found = getter(item, scope)
            if found in (None, ""):
                return None
            parts[placeholder] = str(found)
        assert self.template is not None
        blank = "" if value is None else str(value)
        return _PLACEHOLDER.sub(lambda m: parts.get(m.group(1), blank), self.template)


@dataclass
class Field:
    """A field of the map: its readers tried in order (the first value found wins) and its processor."""

    name: str
    readers: list[FieldReader]
    processor: str
    scale: Decimal | None = None

    def raw(self, item: Any, scope: Scope) -> tuple[Any, bool]:
        """(the value, whether a template made it)."""
        for reader in self.readers:
            value = reader.read(item, scope)
            if value not in (None, "", [], {}):
                return value, reader.template is not None
        return None, False


def compile_field(name: str, spec: FieldValue, *, json: bool, attribute: bool = False) -> Field:
    default = "text" if attribute else DEFAULT_PROCESSOR.get(name, "text")
    alternatives = spec if isinstance(spec, list) else [spec]
    rules = [a for a in alternatives if isinstance(a, FieldRule)]
    processor = next((r.processor for r in rules if r.processor), default)
    scale = next((r.scale for r in rules if r.scale is not None), None)
    return Field(name, [_reader(a, json) for a in alternatives], processor, scale)


def _reader(spec: str | FieldRule, json: bool) -> FieldReader:
    if isinstance(spec, str):
        return FieldReader(json_getter(spec) if json else html_getter(spec))
    getter: Getter | None = None
    if spec.path is not None:
        getter = json_getter(spec.path)
    elif spec.css is not None or spec.xpath is not None:
        getter = html_getter(spec.css or spec.xpath or "", spec.attr, spec.join is not None)
    elif spec.attr is not None:
        getter = html_getter(f"@{spec.attr}")
    placeholders = {
        p: (json_getter(p) if json else html_getter(p))
        for p in _PLACEHOLDER.findall(spec.template or "")
        if p
    }
    return FieldReader(
        getter,
        re.compile(spec.regex) if spec.regex else None,
        spec.template,
        placeholders,
        spec.join,
        spec.const,
    )


# --- the compiled map -------------------------------------------------------------------------------


@dataclass
class Document:
    """A parsed page: ``root`` is a parsel ``Selector`` (HTML maps) or the JSON data (JSON maps)."""

    root: Any
    url: str


@dataclass
class MapPlan:
    map: FieldMap
    marketplace: Marketplace
    fields: list[Field]
    attributes: list[Field]
    items_getter: Getter | None
    variants: Getter | None = None

    @property
    def json(self) -> bool:
        return self.map.is_json

    def document(self, body: str | bytes, url: str, content_type: str = "") -> Document:
        """Parse a page for this map: HTML, a JSON body, or the JSON in the page's ``script``."""
        text_body = body if isinstance(body, str) else to_text(body, content_type)
        if self.map.script:
            return Document(script_json(text_body, self.map.script), url)
        if self.json:
            return Document(parse_json(text_body), url)
        return Document(Selector(text=text_body, type="html"), url)

    def items(self, doc: Document) -> list[Any]:
        if self.items_getter is None:
            return [doc.root]
        found = self.items_getter(doc.root, Scope(page=doc.root))
        if self.json:
            if isinstance(found, dict):
                return [found]
            return [i for i in found or [] if isinstance(i, dict)]
        return list(found)

    def values(self, item: Any, doc: Document, each: Any = None, parent: Any = None) -> Fragment:
        """The ``Offer`` keyword arguments one item gives (before defaults)."""
        scope = Scope(doc.root, parent, each)
        out: Fragment = {}
        hint = self.marketplace.currency
        for spec in self.fields:
            raw, templated = spec.raw(item, scope)
            if raw is None:
                continue
            if spec.processor == "url":
                out[spec.name] = url_value(raw, doc.url, self.marketplace.base_url, templated)
            else:
                out.update(fragment(spec.name, spec.processor, raw, hint=hint, scale=spec.scale))
        attributes: dict[str, str] = {}
        for spec in self.attributes:
            raw, _ = spec.raw(item, scope)
            if raw is None:
                continue
            if spec.processor == "unit":
                attributes.update(unit_attributes(raw))
            elif (value := text(raw)) is not None:
                attributes[spec.name] = value
        if attributes:
            out["attributes"] = attributes
        return out

    def item_values(self, doc: Document, each: Any = None) -> Iterator[tuple[Any, Fragment]]:
        """(item, values) for every item of the page (every variant of every item with ``variants``)."""
        for item in self.items(doc):
            if self.variants is None:
                yield item, self.values(item, doc, each)
                continue
            for variant in self.variants(item, Scope(doc.root, None, each)) or []:
                if isinstance(variant, dict):
                    yield variant, self.values(variant, doc, each, parent=item)

    def offers(self, doc: Document, each: Any = None) -> list[Offer]:
        """Every offer on the page, once each (by listing id)."""
        found: dict[str, Offer] = {}
        for _item, values in self.item_values(doc, each):
            offer = make_offer(values, self.marketplace, doc.url)
            if offer is not None and offer.listing_id not in found:
                found[offer.listing_id] = offer
        return list(found.values())


def merge_maps(preset: FieldMap, override: FieldMap | None) -> FieldMap:
    """A shape's ``preset`` with the keys ``override`` sets; fields and attributes merged one by one."""
    if override is None:
        return preset
    changes = {key: getattr(override, key) for key in override.model_fields_set}
    changes["fields"] = {**preset.fields, **override.fields}
    changes["attributes"] = {**preset.attributes, **override.attributes}
    changes["format"] = preset.format
    return preset.model_copy(update=changes)


def compile_map(field_map: FieldMap, marketplace: Marketplace) -> MapPlan:
    json = field_map.is_json
    items = None
    if field_map.items is not None:
        items = json_getter(field_map.items) if json else _items_getter(field_map.items)
    return MapPlan(
        field_map,
        marketplace,
        [compile_field(n, s, json=json) for n, s in field_map.fields.items()],
        [compile_field(n, s, json=json, attribute=True) for n, s in field_map.attributes.items()],
        items,
        json_getter(field_map.variants) if field_map.variants else None,
    )


def _items_getter(expression: str) -> Getter:
    if is_xpath(expression):
        return lambda root, s: root.xpath(expression)
    return lambda root, s: root.css(expression)


def make_offer(values: Fragment, m: Marketplace, page_url: str) -> Offer | None:
    """An ``Offer`` from an item's values; ``None`` for an item with neither a title nor a price (a
    banner or an ad slot in the list). A coupon price not below the price is no coupon."""
    title = values.get("title") or ""
    if not title and values.get("price") is None and not values.get("price_raw"):
        return None
    url = values.get("url") or page_url
    listing_id = values.get("listing_id") or (url_path(url) if values.get("url") else title)
    if not listing_id:
        return None
    final, price = values.get("final_price"), values.get("price")
    if final is not None and price is not None and final >= price:
        values = {**values, "final_price": None, "final_price_raw": None}
    list_price = values.get("list_price")
    if list_price is not None and price is not None and list_price <= price:
        values = {**values, "list_price": None, "list_price_raw": None}
    kwargs = {k: v for k, v in values.items() if k not in ("title", "url", "listing_id", "delivery")}
    kwargs.setdefault("currency", m.currency)
    return Offer(marketplace=m.name, listing_id=str(listing_id), url=url, title=title, **kwargs)
