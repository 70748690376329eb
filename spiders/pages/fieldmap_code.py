"""A compiled map's per-item reading as one generated Python function (the engine's fast path).

``values_function(fields, attributes, …)`` writes the source of ``values(item, page, parent, each, out,
url)`` — every field of the map read, processed and stored into ``out`` in straight-line code: dotted
JSON paths (``price.current``, ``images[0].src``) become dict look-ups, templates f-strings, processors
direct calls with the field's name, currency hint and scale bound once — and compiles it. It
does what ``Field.raw`` and the processors of ``field_values`` do, field by field, without per-field
dispatch; what it does not write out (HTML selectors, JMESPath beyond dotted paths, ``list`` readers
with a regex or template) it calls as compiled.

Nothing from a marketplaces file is pasted into the source as code: field names and keys are written
as ``repr()`` literals, everything else (expressions, patterns, constants) is passed in by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from string import Formatter
from typing import TYPE_CHECKING, Any

from crawler.fieldmap_config import SCOPES
from spiders.pages import field_values as fv

if TYPE_CHECKING:
    from spiders.pages.fieldmap import Field, FieldReader

ValuesFunction = Callable[[Any, Any, Any, Any, dict[str, Any], str], None]
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[-?\d+\])*(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[-?\d+\])*)*$")
_STEP = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\[-?\d+\]")
_SCOPE_VARS = {"": "item", "$page.": "page", "$parent.": "parent", "$each.": "each"}
_PRICES = ("price", "list_price", "final_price")
_EMPTY: dict[str, Any] = {}


def dotted_steps(path: str) -> list[str | int] | None:
    """``a.b[0].c`` → ``["a", "b", 0, "c"]``; ``None`` for a path that needs JMESPath itself."""
    if not _DOTTED.match(path):
        return None
    return [int(p[1:-1]) if p.startswith("[") else p for p in _STEP.findall(path)]


def split_scope(expression: str) -> tuple[str, str]:
    """``$each.id`` → (``$each.``, ``id``); an item's own path has the scope ``""``."""
    scope = next((s for s in SCOPES if expression.startswith(s)), "")
    return scope, expression[len(scope) :]


def _clean(value: str) -> str:
    """A condition under which ``text(value)`` is ``value`` itself (a non-empty string; ``tidy``)."""
    tidy = f'{value}.isprintable() and {value}[0] != " " and {value}[-1] != " " and "  " not in {value}'
    return f'{value}.__class__ is str and "<" not in {value} and "&" not in {value} and {tidy}'


def _first(values: list[Any]) -> Any:
    return next((v for v in values if v not in (None, "", [], {})), None)


class _Source:
    """The function's source being written, and the objects it refers to by name."""

    def __init__(self, json: bool, scope_type: Any, hint: str | None, base: str) -> None:
        # a JSON map?; the marketplace's currency (for prices without one), its base_url (templated URLs)
        self.json, self.hint, self.base = json, hint, base
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "_EMPTY": _EMPTY,
            "_Scope": scope_type,
            "_first": _first,
            "_text": fv.text,
            "_texts": fv.texts,
            "_plain": fv.PLAIN.fullmatch,
            "_relative": fv.RELATIVE.match,
            "_url_value": fv.url_value,
            "_price_fragment": fv.price_fragment,
            "_stock_fragment": fv.stock_fragment,
            "_unit_attributes": fv.unit_attributes,
            "_fragment": fv.fragment,
            "_gtin": fv.gtin,
            "_Decimal": Decimal,
        }
        self.dicts: set[str] = set()  # scope objects read as JSON objects (d_item, d_each…)
        self.scope = False  # whether a compiled getter needs the Scope object
        self.count = 0

    def name(self, value: Any) -> str:
        self.count += 1
        name = f"_k{self.count}"
        self.names[name] = value
        return name

    def var(self, prefix: str = "v") -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def add(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    # --- reading ------------------------------------------------------------------------------------

    def get(self, target: str, expression: str | None, getter: Any, indent: int) -> None:
        """``target = <what the getter of expression returns>``."""
        steps = None
        if self.json and expression is not None:
            scope, body = split_scope(expression)
            steps = dotted_steps(body)
        if steps is None:
            self.scope = True
            self.add(indent, f"{target} = {self.name(getter)}(item, scope)")
            return
        source = _SCOPE_VARS[scope]
        self.dicts.add(source)
        self.add(indent, f"{target} = d_{source}.get({steps[0]!r})")
        for step in steps[1:]:
            if isinstance(step, str):
                self.add(indent, f"{target} = {target}.get({step!r}) if isinstance({target}, dict) else None")
            else:
                size = f"len({target}) > {step}" if step >= 0 else f"len({target}) >= {-step}"
                self.add(
                    indent, f"{target} = {target}[{step}] if isinstance({target}, list) and {size} else None"
                )

    def read(self, target: str, reader: FieldReader, indent: int) -> None:
        """``target = reader.read(item, scope)``."""
        if reader.keep_list and (reader.regex or reader.template is not None or reader.join is not None):
            self.scope = True
            self.add(indent, f"{target} = {self.name(reader.read)}(item, scope)")
            return
        if reader.getter is None:
            self.add(indent, f"{target} = {self.name(reader.const)}")
        else:
            self.get(target, reader.expression, reader.getter, indent)
        if reader.keep_list:
            return
        if reader.getter is not None:
            self.add(indent, f"if isinstance({target}, list):")
            if reader.join is not None:
                item = self.var("t")
                joined = f"({item} for x in {target} if ({item} := _text(x)))"
                self.add(indent + 1, f"{target} = {self.name(reader.join)}.join{joined}")
            else:
                self.add(indent + 1, f"{target} = _first({target})")
        if reader.regex is not None:
            match, group = self.var("m"), 1 if reader.regex.groups else 0
            self.add(indent, f"if {target} is not None:")
            self.add(indent + 1, f"{match} = {self.name(reader.regex.search)}(str({target}))")
            self.add(indent + 1, f"{target} = {match}.group({group}) if {match} else None")
        if reader.template is not None:
            self.fill(target, reader, indent)

    def fill(self, target: str, reader: FieldReader, indent: int) -> None:
        """The template: ``None`` when a placeholder is missing."""
        if reader.getter is not None:
            self.add(indent, f"if {target} is not None:")
            indent += 1
        parts = []
        for expression, getter in reader.placeholders.items():
            part = self.var("p")
            parts.append(part)
            self.get(part, expression, getter, indent)
            self.add(indent, f'if {part} is None or {part} == "":')
            self.add(indent + 1, f"{target} = None")
            self.add(indent, "else:")
            indent += 1
        assert reader.pattern is not None
        pieces = self.pieces(reader.pattern, parts, target)
        if pieces is None:  # a pattern str.format refuses: let it say so when read, as before
            arguments = "".join(f"{p}, " for p in parts)
            value = f'"" if {target} is None else {target}'
            self.add(indent, f"{target} = {self.name(reader.pattern)}.format({arguments}value={value})")
            return
        if target in pieces:
            self.add(indent, f'{target} = "" if {target} is None else {target}')
        self.add(indent, f'{target} = f"{"".join("{" + p + "}" for p in pieces)}"')

    def pieces(self, pattern: str, parts: list[str], value: str) -> list[str] | None:
        """The names an f-string joins to give ``pattern.format(*parts, value=value)`` (``{x}`` in an
        f-string and ``{0}`` in ``str.format`` both give ``format(x, "")``); literal texts are passed by
        name."""
        try:
            parsed = list(Formatter().parse(pattern))
        except ValueError:
            return None
        pieces = []
        for literal, field, spec, conversion in parsed:
            if literal:
                pieces.append(self.name(literal))
            if field is None:
                continue
            if spec or conversion or not (field == "value" or field.isdigit()):
                return None
            pieces.append(value if field == "value" else parts[int(field)])
        return pieces

    def raw(self, target: str, spec: Field, indent: int, *, empty_dict_is_none: bool) -> str | None:
        """``target`` = the field's raw value (``Field.raw``); returns the name of a variable telling
        whether a template made it (``None``: never)."""
        if spec.processor == "list":
            self.listed(target, spec, indent)
            return None
        if spec.direct is not None:
            self.get(target, spec.readers[0].expression, spec.direct, indent)
            self.add(indent, f"if isinstance({target}, list):")
            self.add(indent + 1, f"{target} = _first({target})")
            if empty_dict_is_none:
                self.add(indent, f'if {target} == "" or {target} == {{}}:')
                self.add(indent + 1, f"{target} = None")
            return None
        only = spec.readers[0]
        if len(spec.readers) == 1 and not only.keep_list and (only.template is not None or only.regex):
            self.read(target, only, indent)  # a text or None: nothing else to tell apart
            return str(only.template is not None)
        templated = self.var("tp")
        for reader in spec.readers:
            self.read(target, reader, indent)
            self.add(
                indent, f'if not ({target} is None or {target} == "" or {target} == [] or {target} == {{}}):'
            )
            self.add(indent + 1, f"{templated} = {reader.template is not None}")
            self.add(indent, "else:")
            indent += 1
        self.add(indent, f"{target} = None")
        self.add(indent, f"{templated} = False")
        return templated

    def listed(self, target: str, spec: Field, indent: int) -> None:
        """A ``list`` field: what all its alternatives find, in order."""
        found, value = self.var("acc"), self.var("r")
        self.add(indent, f"{found} = []")
        for reader in spec.readers:
            self.read(value, reader, indent)
            self.add(indent, f"if isinstance({value}, list):")
            self.add(indent + 1, f"for x in {value}:")
            self.add(indent + 2, 'if x is not None and x != "":')
            self.add(indent + 3, f"{found}.append(x)")
            self.add(indent, f'elif {value} is not None and {value} != "":')
            self.add(indent + 1, f"{found}.append({value})")
        self.add(indent, f"{target} = {found} or None")

    # --- processing ---------------------------------------------------------------------------------

    def store(self, value: str, spec: Field, templated: str | None, indent: int) -> None:
        """``out`` gets what ``value`` fills for the field (``MapPlan`` processing, ``fragment``)."""
        key, processor = repr(spec.name), spec.processor
        if processor == "list":
            self.add(indent, f"out[{key}] = _texts({value})")
        elif processor == "url":
            self.store_url(value, key, templated, indent)
        elif processor == "text" and spec.name != "currency":
            self.add(indent, f"out[{key}] = {value} if {_clean(value)} else _text({value})")
        elif processor == "price":
            self.store_price(value, spec, indent)
        elif processor == "stock":
            self.add(indent, f"if {value}.__class__ is int:")
            self.add(indent + 1, f'out["in_stock"] = {value} > 0')
            self.add(indent + 1, f'out["stock_qty"] = {value}')
            self.add(indent, "else:")
            self.add(indent + 1, f"out.update(_stock_fragment({value}))")
        elif processor == "gtin" and spec.scale is None and spec.name not in ("currency", "delivery"):
            self.add(indent, f"out[{key}] = _gtin({value})")
        else:
            hint, scale = self.name(self.hint), self.name(spec.scale)
            self.add(
                indent, f"out.update(_fragment({key}, {processor!r}, {value}, hint={hint}, scale={scale}))"
            )

    def store_url(self, value: str, key: str, templated: str | None, indent: int) -> None:
        base = self.name(self.base)
        if templated not in (None, "False") and self.base.endswith("/"):  # "store/101/…" under the shop
            known = "" if templated == "True" else f"{templated} and "
            self.add(indent, f"if {known}{_clean(value)} and _relative({value}):")
            self.add(indent + 1, f"out[{key}] = {base} + {value}")
            self.add(indent, "else:")
            indent += 1
        self.add(indent, f"out[{key}] = _url_value({value}, url, {base}, {templated or False})")

    def store_price(self, value: str, spec: Field, indent: int) -> None:
        """A number, or a number written as text, as it is; any other text through the price parser."""
        field, scale = spec.name if spec.name in _PRICES else "price", self.name(spec.scale)
        scaled = "" if spec.scale is None else f" * {scale}"
        self.add(indent, f"if {value}.__class__ is _Decimal and {value}.is_finite():")
        self.add(indent + 1, f"out[{field!r}] = {value}{scaled}")
        self.add(indent + 1, f"out[{field + '_raw'!r}] = str({value})")
        self.add(indent, f"elif {value}.__class__ is str and _plain({value}):  # 5999.00")
        self.add(indent + 1, f"out[{field!r}] = _Decimal({value}){scaled}")
        self.add(indent + 1, f"out[{field + '_raw'!r}] = {value}")
        self.add(indent, "else:")
        self.add(
            indent + 1, f"out.update(_price_fragment({field!r}, {value}, {self.name(self.hint)}, {scale}))"
        )

    def field(self, spec: Field) -> None:
        value = self.var()
        if spec.direct is None:
            templated = self.raw(value, spec, 1, empty_dict_is_none=False)
            self.add(1, f'if {value} is not None and {value} != "":')
            self.store(value, spec, templated, 2)
            return
        # one plain expression: a string (the common case) goes straight on
        self.get(value, spec.readers[0].expression, spec.direct, 1)
        self.add(1, f"if {value}.__class__ is str:")
        self.add(2, f"if {value}:")
        self.store(value, spec, None, 3)
        self.add(1, f"elif {value} is not None:")
        self.add(2, f"if isinstance({value}, list):")
        self.add(3, f"{value} = _first({value})")
        self.add(2, f'if {value} is not None and {value} != "":')
        self.store(value, spec, None, 3)

    def attributes(self, specs: list[Field]) -> None:
        self.add(1, "if item is not None:")
        self.add(2, "attributes = {}")
        for spec in specs:
            value = self.var()
            self.raw(value, spec, 2, empty_dict_is_none=True)
            self.add(2, f'if {value} is not None and {value} != "":')
            if spec.processor == "unit":
                self.add(3, f"attributes.update(_unit_attributes({value}))")
                continue
            self.add(3, f"{value} = {value} if {_clean(value)} else _text({value})")
            self.add(3, f"if {value}:")
            self.add(4, f"attributes[{spec.name!r}] = {value}")
        self.add(2, "if attributes:")
        self.add(3, 'out["attributes"] = attributes')

    def function(self) -> ValuesFunction:
        head = [f"    d_{s} = {s} if isinstance({s}, dict) else _EMPTY" for s in sorted(self.dicts)]
        if self.scope:
            head.append("    scope = _Scope(page, parent, each)")
        body = head + self.lines or ["    pass"]
        text = "def values(item, page, parent, each, out, url):\n" + "\n".join(body) + "\n"
        namespace = dict(self.names)
        exec(compile(text, "<field map>", "exec"), namespace)  # our own source: literals by repr()
        function: ValuesFunction = namespace["values"]
        return function


def values_function(
    fields: list[Field],
    attributes: list[Field],
    *,
    json: bool,
    hint: str | None,
    base: str,
    scope_type: Any,
) -> ValuesFunction:
    """``values(item, page, parent, each, out, url)``: ``out`` gets the ``Offer`` keyword arguments the
    fields give for ``item`` (attributes too, unless ``item`` is ``None``); ``url`` is the page's URL."""
    source = _Source(json, scope_type, hint, base)
    for spec in fields:
        source.field(spec)
    if attributes:
        source.attributes(attributes)
    return source.function()
