"""The field-map engine's extraction: a page (HTML, JSON, JSON in a script, captured XHR JSON) and a map
(``crawler.fieldmap_config.FieldMap``) → ``Offer``s. Plain functions, no network.

    plan = compile_map(field_map, marketplace)
    offers = plan.offers(plan.document(text), page_url)

Expressions are compiled once per map. Simple dotted JSON paths (``price.current``) are read with dict
look-ups, which give what JMESPath gives for them, only faster. The reading of every field of an item is
one generated function per map (``fieldmap_code``); ``Field.raw`` reads one field on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from functools import cached_property, partial
from typing import Any

import jmespath
from lxml import etree
from lxml import html as lxml_html
from parsel.csstranslator import HTMLTranslator

from core.encoding import to_text
from core.offer import Offer
from crawler.config import Marketplace
from crawler.fieldmap_config import FieldMap, FieldRule, FieldValue, is_xpath, template_pattern
from spiders.pages._common import clean, url_path
from spiders.pages.embedded import parse_json, script_json
from spiders.pages.field_values import DEFAULT_PROCESSOR, Fragment, text
from spiders.pages.fieldmap_code import ValuesFunction, dotted_steps, split_scope, values_function

_CSS = HTMLTranslator()
Getter = Callable[[Any, "Scope"], Any]


@dataclass
class Scope:
    """What an expression can reach besides its item: the page, the parent item (variants) and the
    ``each`` element (a store, a category)."""

    page: Any = None
    parent: Any = None
    each: Any = None


# --- compiling expressions --------------------------------------------------------------------------


def _dotted(steps: list[str | int], obj: Any) -> Any:
    """What JMESPath gives for ``a.b[0].c``: keys of objects and indexes of lists, ``None`` when absent."""
    for step in steps:
        if isinstance(step, int):
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[step] if isinstance(step, int) else obj.get(step)
    return obj


def json_getter(expression: str) -> Getter:
    scope, body = split_scope(expression)
    steps = dotted_steps(body)
    search: Callable[[Any], Any] = partial(_dotted, steps) if steps else jmespath.compile(body).search
    if steps and len(steps) == 1:  # one key: the common case, kept cheap
        if scope == "$each.":
            return lambda item, s: s.each.get(body) if isinstance(s.each, dict) else None
        if scope == "$page.":
            return lambda item, s: s.page.get(body) if isinstance(s.page, dict) else None
        if not scope:
            return lambda item, s: item.get(body) if isinstance(item, dict) else None
    if scope == "$page.":
        return lambda item, s: search(s.page)
    if scope == "$parent.":
        return lambda item, s: search(s.parent)
    if scope == "$each.":
        return lambda item, s: search(s.each)
    return lambda item, s: search(item)


def _text_of(node: Any) -> str | None:
    if isinstance(node, str):  # an attribute or text() result
        return node
    return clean("".join(node.itertext()))


def _compiled(expression: str, attr: str | None = None) -> etree.XPath:
    """A CSS selector (parsel's ``::text``/``::attr(x)`` included) or an XPath, compiled once."""
    if is_xpath(expression):
        return etree.XPath(expression)
    css = expression + (f"::attr({attr})" if attr and "::" not in expression else "")
    return etree.XPath(_CSS.css_to_xpath(css))


def html_getter(expression: str, attr: str | None = None, every: bool = False) -> Getter:
    """CSS or XPath, relative to the item (``$page.`` to the page); ``@name`` an attribute of the item.
    Returns the first non-empty text (every match when ``every``). Items and pages are lxml elements."""
    on_page = expression.startswith("$page.")
    expr = expression.removeprefix("$page.").strip()
    if expr.startswith("@"):
        name = expr[1:]
        return (lambda item, s: s.page.get(name)) if on_page else (lambda item, s: item.get(name))
    find = _compiled(expr, attr)
    attribute = attr if attr and is_xpath(expr) else None

    def get(item: Any, s: Scope) -> Any:
        nodes = find(s.page if on_page else item)
        if attribute:
            values = [n.get(attribute) for n in nodes if not isinstance(n, str)]
        elif every:
            values = [_text_of(n) for n in nodes]
        else:  # the first non-empty one: most fields stop at the first node
            return next((t for n in nodes if (t := _text_of(n))), None)
        values = [v for v in values if v not in (None, "")]
        return values if every else (values[0] if values else None)

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
    page_wide: bool = False
    """Reads only the page, the ``each`` element or a constant: the same for every item of a page."""
    keep_list: bool = False
    """The ``list`` processor's reader: every match, not the first."""
    expression: str | None = None
    """The JMESPath of the getter (JSON maps)."""
    pattern: str | None = None
    """The template as a ``str.format`` pattern: ``{0}``… the placeholders in order, ``{value}`` the value."""

    def read(self, item: Any, scope: Scope) -> Any:
        value = self.const if self.getter is None else self.getter(item, scope)
        if isinstance(value, list) and self.keep_list:
            return value
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
        parts = []
        for getter in self.placeholders.values():
            found = getter(item, scope)
            if found in (None, ""):
                return None
            parts.append(found)
        assert self.pattern is not None
        return self.pattern.format(*parts, value="" if value is None else value)


@dataclass
class Field:
    """A field of the map: its readers tried in order (the first value found wins) and its processor."""

    name: str
    readers: list[FieldReader]
    processor: str
    scale: Decimal | None = None

    def __post_init__(self) -> None:
        only = self.readers[0] if len(self.readers) == 1 else None
        plain = (
            only is not None and only.getter is not None and not (only.regex or only.template or only.join)
        )
        listed = self.processor == "list"
        self.direct: Getter | None = only.getter if plain and only is not None and not listed else None
        """The getter itself when the field is one plain expression (most fields): no per-read steps."""
        self.page_wide = all(r.page_wide for r in self.readers)

    @staticmethod
    def _as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [] if value is None else [value]

    def raw(self, item: Any, scope: Scope) -> tuple[Any, bool]:
        """(the value, whether a template made it); a ``list`` field: what all its alternatives find."""
        if self.processor == "list":
            found = [self._as_list(r.read(item, scope)) for r in self.readers]
            values = [v for vs in found for v in vs if v not in (None, "")]
            return (values or None), False
        if self.direct is not None:
            value = self.direct(item, scope)
            if isinstance(value, list):
                value = next((v for v in value if v not in (None, "", [], {})), None)
            return (None if value in ("", {}) else value), False
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
    every = processor == "list"
    return Field(name, [_reader(a, json, every) for a in alternatives], processor, scale)


def _page_wide(expressions: list[str]) -> bool:
    return all(e.startswith(("$page.", "$each.")) for e in expressions)


def _reader(spec: str | FieldRule, json: bool, every: bool = False) -> FieldReader:
    """One alternative of a field; ``every`` (the ``list`` processor) keeps every match."""
    if isinstance(spec, str):
        plain = json_getter(spec) if json else html_getter(spec, every=every)
        return FieldReader(
            plain, page_wide=_page_wide([spec]), keep_list=every, expression=spec if json else None
        )
    getter: Getter | None = None
    if spec.path is not None:
        getter = json_getter(spec.path)
    elif spec.css is not None or spec.xpath is not None:
        getter = html_getter(spec.css or spec.xpath or "", spec.attr, every or spec.join is not None)
    elif spec.attr is not None:
        getter = html_getter(f"@{spec.attr}")
    pattern, names = template_pattern(spec.template) if spec.template is not None else (None, [])
    placeholders = {p: (json_getter(p) if json else html_getter(p)) for p in names}
    expressions = [e for e in (spec.path, spec.css, spec.xpath) if e is not None] + list(placeholders)
    return FieldReader(
        getter,
        re.compile(spec.regex) if spec.regex else None,
        spec.template,
        placeholders,
        spec.join,
        spec.const,
        page_wide=spec.attr is None and _page_wide(expressions),
        keep_list=every,
        expression=spec.path,
        pattern=pattern,
    )


# --- the compiled map -------------------------------------------------------------------------------


@dataclass
class Document:
    """A parsed page: ``root`` is an lxml element (HTML maps) or the JSON data (JSON maps)."""

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
        return Document(lxml_html.document_fromstring(text_body or "<html></html>"), url)

    def items(self, doc: Document) -> list[Any]:
        if self.items_getter is None:
            return [doc.root]
        found = self.items_getter(doc.root, Scope(page=doc.root))
        if self.json:
            if isinstance(found, dict):
                return [found]
            return [i for i in found or [] if isinstance(i, dict)]
        return list(found)

    def __post_init__(self) -> None:
        # two generated functions: the fields that are the same for every item of a page (read once per
        # page), and the others with the attributes (read per item)
        self.read_page = self.compiled([f for f in self.fields if f.page_wide], [])
        self.read_item = self.compiled([f for f in self.fields if not f.page_wide], self.attributes)

    def compiled(self, fields: list[Field], attributes: list[Field]) -> ValuesFunction:
        return values_function(
            fields,
            attributes,
            json=self.json,
            hint=self.marketplace.currency,
            base=self.marketplace.base_url,
            scope_type=Scope,
        )

    @cached_property
    def read_all(self) -> ValuesFunction:
        """Every field in the map's order, and the attributes (compiled when first needed)."""
        return self.compiled(self.fields, self.attributes)

    def values(self, item: Any, doc: Document, each: Any = None) -> Fragment:
        """The ``Offer`` keyword arguments ``item`` gives (before defaults), every field read in the map's
        order (on a detail page, the whole page is the item)."""
        out: Fragment = {}
        self.read_all(item, doc.root, None, each, out, doc.url)
        return out

    def item_values(self, doc: Document, each: Any = None) -> Iterator[tuple[Any, Fragment]]:
        """(item, the ``Offer`` keyword arguments it gives, before defaults) for every item of the page
        (every variant of every item with ``variants``)."""
        page, url, read_item = doc.root, doc.url, self.read_item
        page_wide: Fragment = {}
        self.read_page(None, page, None, each, page_wide, url)
        for item in self.items(doc):
            if self.variants is None:
                values = dict(page_wide)
                read_item(item, page, None, each, values, url)
                yield item, values
                continue
            for variant in self.variants(item, Scope(page, None, each)) or []:
                if isinstance(variant, dict):
                    values = dict(page_wide)
                    read_item(variant, page, item, each, values, url)
                    yield variant, values

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


_PLANS: dict[str, MapPlan] = {}


def preset_plan(preset: Callable[[Marketplace], FieldMap], m: Marketplace) -> MapPlan:
    """The compiled map of a shape's preset with ``m``'s fields on top, compiled once per marketplace
    (page objects are called once per page)."""
    key = f"{preset.__module__}.{preset.__qualname__}:{m.model_dump_json()}"
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 64:
            _PLANS.clear()
        plan = _PLANS[key] = compile_map(merge_maps(preset(m), m.map), m)
    return plan


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
    find = _compiled(expression)
    return lambda root, s: [node for node in find(root) if not isinstance(node, str)]


def make_offer(values: Fragment, m: Marketplace, page_url: str) -> Offer | None:
    """An ``Offer`` from an item's values; ``None`` for an item with neither a title nor a price (a
    banner or an ad slot in the list). A coupon price not below the price is no coupon."""
    kwargs = dict(values)
    title = kwargs.pop("title", None) or ""
    scraped_url, listing_id = kwargs.pop("url", None), kwargs.pop("listing_id", None)
    price = kwargs.get("price")
    if not title and price is None and not kwargs.get("price_raw"):
        return None
    url = scraped_url or page_url
    listing_id = listing_id or (url_path(url) if scraped_url else title)
    if not listing_id:
        return None
    final, list_price = kwargs.get("final_price"), kwargs.get("list_price")
    if final is not None and price is not None and final >= price:
        kwargs["final_price"] = kwargs["final_price_raw"] = None
    if list_price is not None and price is not None and list_price <= price:
        kwargs["list_price"] = kwargs["list_price_raw"] = None
    if "currency" not in kwargs:
        kwargs["currency"] = m.currency
    return Offer(marketplace=m.name, listing_id=str(listing_id), url=url, title=title, **kwargs)
