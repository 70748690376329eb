"""``[marketplace.map]``: a field map, the configuration of the field-map engine (``spiders/fieldmap.py``).

A map says where the items of a listing are and where each ``Offer`` field is in an item:

- ``format = "html"``: ``items`` and the fields are CSS selectors (parsel's ``::text`` / ``::attr(x)``
  allowed) or XPath (starting with ``/``, ``./`` or ``(``); ``"@name"`` is an attribute of the item;
- ``format = "json"``: JMESPath expressions, over the response body, the JSON in a ``<script>``
  (``script``) or the JSON responses the rendered page fetched (``render.capture``). ``$page.``,
  ``$parent.`` (``variants``) and ``$each.`` (``each``) reach outside the item.

Every expression is compiled here, so a bad one is a configuration error naming its key.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from lxml import etree
from parsel.csstranslator import HTMLTranslator
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Processor = Literal[
    "text",
    "price",
    "shipping",
    "stock",
    "delivery",
    "minutes",
    "unit",
    "int",
    "number",
    "bool",
    "gtin",
    "url",
    "list",
]
OFFER_FIELDS = (
    "listing_id",
    "url",
    "title",
    "brand",
    "gtin",
    "mpn",
    "sku",
    "category",
    "price",
    "list_price",
    "final_price",
    "shipping",
    "currency",
    "in_stock",
    "stock_qty",
    "seller",
    "store",
    "distance_km",
    "delivery",
    "image",
    "latitude",
    "longitude",
    "delivery_radius_km",
    "promotions",
)
"""The ``Offer`` fields a map can fill (``delivery`` is the delivery promise: text or minutes)."""
SCOPES = ("$page.", "$parent.", "$each.")
_XPATH_START = ("/", "./", "(", "../")
_CSS = HTMLTranslator()
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def is_xpath(expression: str) -> bool:
    return expression.startswith(_XPATH_START)


def check_selector(expression: str) -> str:
    """A CSS selector or XPath that compiles (``@attr`` means an attribute of the item itself)."""
    if expression.startswith("@") or (expression.startswith("$page.") and expression[6:].startswith("@")):
        return expression
    text = expression.removeprefix("$page.").strip()
    try:
        if is_xpath(text):
            etree.XPath(text)
        else:
            _CSS.css_to_xpath(text)
    except Exception as exc:  # noqa: BLE001 (cssselect and lxml raise several kinds)
        raise ValueError(f"not a CSS selector or XPath: {expression!r} ({exc})") from None
    return expression


def template_pattern(template: str) -> tuple[str, list[str]]:
    """A template's ``str.format`` pattern and its placeholders, in order: ``"{$parent.title} - {}"`` →
    (``"{0} - {value}"``, ``["$parent.title"]``). ``{{`` and ``}}`` are literal braces."""
    names: list[str] = []

    def field(match: re.Match[str]) -> str:
        expression = match.group(1)
        if not expression:
            return "{value}"
        if expression not in names:
            names.append(expression)
        return f"{{{names.index(expression)}}}"

    escaped = template.replace("{{", "\0").replace("}}", "\1")
    return _PLACEHOLDER.sub(field, escaped).replace("\0", "{{").replace("\1", "}}"), names


def check_jmespath(expression: str) -> str:
    text = expression
    for scope in SCOPES:
        text = text.removeprefix(scope)
    try:
        jmespath.compile(text)
    except JMESPathError as exc:
        raise ValueError(f"not a JMESPath expression: {expression!r} ({exc})") from None
    return expression


def check_regex(expression: str) -> str:
    try:
        re.compile(expression)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {expression!r} ({exc})") from None
    return expression


class FieldRule(BaseModel):
    """One field: where it is (``path``, ``css``, ``xpath``, ``attr`` or ``const``) and how to read it."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = None
    """JMESPath (JSON maps)."""
    css: str | None = None
    xpath: str | None = None
    attr: str | None = None
    """An attribute of the element ``css``/``xpath`` found (or of the item itself)."""
    const: str | int | float | bool | None = None
    """A fixed value (e.g. the seller of a single-seller shop)."""
    regex: str | None = None
    """Keep what the regular expression matched (its first group, if it has one)."""
    template: str | None = None
    """``{}`` is the value, ``{expr}`` another value of the item (JSON maps), e.g. ``/item/{}.html``.
    A URL made by a template is joined with ``base_url``; a scraped one with the page URL."""
    join: str | None = None
    """Join every match with this text (default: the first non-empty match)."""
    processor: Processor | None = None
    """How the value is read (default: by field — price texts for prices, stock words for stock…)."""
    scale: Decimal | None = None
    """Multiply a number by this (``0.01`` for prices in fen/cents)."""

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return None if value is None else check_regex(value)

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        sources = [s for s in (self.path, self.css, self.xpath) if s is not None]
        if len(sources) > 1:
            raise ValueError("give one of path, css, xpath")
        if not sources and self.attr is None and self.const is None and self.template is None:
            raise ValueError("give path (JSON), css/xpath/attr (HTML), const or template")
        if self.css is not None:
            check_selector(self.css)
        if self.xpath is not None:
            check_selector(self.xpath)
        if self.path is not None:
            check_jmespath(self.path)
        for placeholder in template_pattern(self.template or "")[1]:
            check_jmespath(placeholder)
        return self


FieldValue = str | FieldRule | list[str | FieldRule]
"""A field: a selector/path string, a table, or a list of them (the first that finds a value wins)."""


class Pagination(BaseModel):
    """How the listing goes on: a page or offset parameter, a cursor, a next link, a "load more" button
    or infinite scroll (the last two in rendered pages), always bounded by ``max_pages``."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["page", "offset", "cursor", "next_link", "load_more", "scroll"]
    param: str | None = None
    """The query parameter (default ``page``, ``offset`` or ``cursor``)."""
    start: int | None = None
    """The first page's value of ``param`` (default 1 for pages, 0 for offsets)."""
    size: Annotated[int, Field(ge=1, le=10_000)] | None = None
    """Items per page: the offset step, and the value of ``size_param`` when given."""
    size_param: str | None = None
    cursor: str | None = None
    """Where the next cursor is in a JSON page (an empty one ends the walk)."""
    next: str | None = None
    """Where the next page's URL is (selector or JMESPath)."""
    total_pages: str | None = None
    """Where the number of pages is: pages 2…N are then requested at once."""
    total: str | None = None
    """Where the number of items is (with ``size``: the number of pages)."""
    has_more: str | None = None
    """Where a JSON page says whether more follow (false ends the walk)."""
    button: str | None = None
    """``load_more``: the button to click until it is gone."""
    max_pages: Annotated[int, Field(ge=1, le=100_000)] = 50
    wait_ms: Annotated[int, Field(ge=100, le=60_000)] = 3_000
    """``load_more``/``scroll``: how long to wait for new items after a click or a scroll."""

    @model_validator(mode="after")
    def _complete(self) -> Pagination:
        if self.kind == "cursor" and not self.cursor:
            raise ValueError("kind = 'cursor' needs cursor (where the next cursor is)")
        if self.kind == "next_link" and not self.next:
            raise ValueError("kind = 'next_link' needs next (where the next page's URL is)")
        if self.kind == "load_more" and not self.button:
            raise ValueError("kind = 'load_more' needs button (the selector of the button)")
        if self.kind == "offset" and not self.size:
            raise ValueError("kind = 'offset' needs size (items per page)")
        for value in (self.button,):
            if value is not None:
                check_selector(value)
        return self

    @property
    def parameter(self) -> str:
        return self.param or {"offset": "offset", "cursor": "cursor"}.get(self.kind, "page")

    @property
    def first(self) -> int:
        return self.start if self.start is not None else (0 if self.kind == "offset" else 1)


class Action(BaseModel):
    """One step in a rendered page, before the items are read: exactly one of the keys below."""

    model_config = ConfigDict(extra="forbid")
    wait: str | None = None
    """Wait for this selector to appear."""
    click: str | None = None
    type: str | None = None
    """Type ``text`` into this input (a search box), then press ``press`` (e.g. ``Enter``)."""
    text: str | None = None
    press: str | None = None
    scroll: Annotated[int, Field(ge=1, le=1000)] | None = None
    """Scroll to the bottom this many times."""
    sleep_ms: Annotated[int, Field(ge=1, le=60_000)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Action:
        steps = [k for k in ("wait", "click", "type", "scroll", "sleep_ms") if getattr(self, k) is not None]
        if len(steps) != 1:
            raise ValueError("an action has one of wait, click, type (+ text, press), scroll, sleep_ms")
        if self.type is not None and self.text is None:
            raise ValueError("type needs text")
        for selector in (self.wait, self.click, self.type):
            if selector is not None:
                check_selector(selector)
        return self


class Render(BaseModel):
    """Open the listing in Chromium (scrapy-playwright), run ``actions``, then read the page — or the
    JSON responses of its own XHR/fetch requests whose URL matches ``capture`` (a regular expression)."""

    model_config = ConfigDict(extra="forbid")
    wait_for: str | None = None
    """A selector to wait for before anything else (the first items)."""
    actions: list[Action] = []
    capture: str | None = None
    timeout_ms: Annotated[int, Field(ge=100, le=120_000)] = 15_000

    @field_validator("capture")
    @classmethod
    def _capture(cls, value: str | None) -> str | None:
        return None if value is None else check_regex(value)

    @field_validator("wait_for")
    @classmethod
    def _wait_for(cls, value: str | None) -> str | None:
        return None if value is None else check_selector(value)


class Detail(BaseModel):
    """Follow each item's detail page and read more fields there (they win over the listing's)."""

    model_config = ConfigDict(extra="forbid")
    url: FieldValue | None = None
    """Where the detail URL is in the item (default: the offer's ``url``)."""
    format: Literal["html", "json"] = "html"
    script: str | None = None
    """The page's data is the JSON in this ``<script>`` (see ``FieldMap.script``)."""
    render: bool = False
    """Render detail pages in Chromium too (slow; only when they need JavaScript)."""
    fields: dict[str, FieldValue] = {}
    attributes: dict[str, FieldValue] = {}

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: dict[str, FieldValue]) -> dict[str, FieldValue]:
        return check_field_names(value)

    @model_validator(mode="after")
    def _expressions(self) -> Detail:
        json = self.format == "json" or self.script is not None
        check_expressions({**self.fields, **self.attributes}, json=json)
        return self


class Each(BaseModel):
    """A listing per element of a first JSON list (stores, categories): the listing URL is ``listing``
    with ``{expr}`` filled from the element; fields reach the element as ``$each.<expr>``."""

    model_config = ConfigDict(extra="forbid")
    url: str
    """The list (relative to ``base_url``)."""
    items: str
    listing: str

    @model_validator(mode="after")
    def _expressions(self) -> Each:
        check_jmespath(self.items)
        for placeholder in template_pattern(self.listing)[1]:
            check_jmespath(placeholder)
        return self


class FieldMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["html", "json"] | None = None
    """``html`` unless ``script`` or ``render.capture`` make it ``json`` (presets: the preset's)."""
    script: str | None = None
    """JSON embedded in the HTML page: a ``<script>`` selector (``#__NEXT_DATA__``) or the variable it
    assigns (``window.__INITIAL_STATE__``, ``g_page_config``). Makes the map a JSON map."""
    items: str | None = None
    """Where the items are: a selector (HTML) or a JMESPath to the list (JSON). Required, except over
    a preset (``browser``, ``instant``) which has its own."""
    variants: str | None = None
    """JSON: one offer per element of this list inside each item; ``$parent.`` reaches the item."""
    fields: dict[str, FieldValue] = {}
    attributes: dict[str, FieldValue] = {}
    """Variant attributes (``colour``, ``storage``, ``size``…); the ``unit`` processor reads unit and
    pack texts (``500ml×12瓶``) into ``size`` and ``pack``."""
    pagination: Pagination | None = None
    detail: Detail | None = None
    render: Render | None = None
    each: Each | None = None

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: dict[str, FieldValue]) -> dict[str, FieldValue]:
        return check_field_names(value)

    @model_validator(mode="after")
    def _consistent(self) -> FieldMap:
        if self.script is not None or (self.render is not None and self.render.capture):
            self.format = "json"
        json = self.format == "json"
        check = check_jmespath if json else check_selector
        if self.items is not None:
            _named("items", check, self.items)
        if self.variants is not None:
            _named("variants", check_jmespath, self.variants)
        check_expressions({**self.fields, **self.attributes}, json=json)
        pagination = self.pagination
        if pagination is not None and pagination.kind in ("load_more", "scroll") and self.render is None:
            raise ValueError(f"pagination kind {pagination.kind!r} needs [render] (a rendered page)")
        if pagination is not None:
            for key in ("cursor", "next", "total_pages", "total", "has_more"):
                value = getattr(pagination, key)
                if value is not None:
                    _named(f"pagination.{key}", check, value)
        return self

    @property
    def is_json(self) -> bool:
        return self.format == "json"


def _named(key: str, check: Any, value: str) -> None:
    try:
        check(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def check_field_names(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(OFFER_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; a map can fill {', '.join(OFFER_FIELDS)}")
    return fields


def check_expressions(fields: dict[str, FieldValue], *, json: bool) -> None:
    """Compile every string (or list of strings) of ``fields``; ``FieldRule`` tables checked themselves."""
    for name, value in fields.items():
        for alternative in value if isinstance(value, list) else [value]:
            if isinstance(alternative, str):
                try:
                    (check_jmespath if json else check_selector)(alternative)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
            elif json and (alternative.css or alternative.xpath):
                raise ValueError(f"{name}: a JSON map reads fields with path, not css/xpath")
            elif not json and alternative.path:
                raise ValueError(f"{name}: an HTML map reads fields with css/xpath/attr, not path")
