"""Proposing a field map from JSON (``bijia marketplaces add`` with no ``--shape``): find the array of
item-like objects — objects with a title-like and a price-like key — anywhere in the data, and the key of
each ``Offer`` field in them. Pure functions over parsed JSON; the probes feed them an API body, the JSON
a page embeds, or the JSON responses a rendered page fetched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.prices import parse_price

MIN_ITEMS = 2
MIN_SHARE = 0.6
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE = re.compile(r"\.(?:jpe?g|png|webp|gif|avif|svg)(?:[?!_#]|$)", re.I)
_TAG = re.compile(r"<[^>]+>")
_SELLER_WORDS = ("shop", "seller", "store", "mall", "nick", "merchant", "vendor")
_NOT_TITLE = (
    *_SELLER_WORDS,
    "brand",
    "cat",
    "tag",
    "label",
    "class",
    "type",
    "icon",
    "unit",
    "spec",
    "attr",
    "loc",
)
PRICE_KEYS = (
    "viewprice",
    "saleprice",
    "currentprice",
    "sellprice",
    "price",
    "minprice",
    "pricestring",
    "amount",
    "lowprice",
    "goodsprice",
    "dishprice",
    "stdprice",
)
_LIST_PRICE = (
    "reserve",
    "original",
    "origin",
    "market",
    "list",
    "regular",
    "was",
    "compare",
    "normal",
    "old",
    "max",
    "line",
)
_FINAL_PRICE = ("coupon", "final", "after", "promo", "discount", "deal", "quan", "vip")
_NOT_PRICE = (
    "unit",
    "range",
    "text_color",
    "desc",
    "rate",
    "count",
    "num",
    "type",
    "label",
    "tag",
    "icon",
    "fee",
    "box",
    "pack",
    "deposit",
)
ID_KEYS = (
    "sku_id",
    "skuid",
    "sku",
    "item_id",
    "itemid",
    "goods_id",
    "goodsid",
    "product_id",
    "productid",
    "spu_id",
    "spuid",
    "nid",
    "id",
    "pid",
    "wareid",
    "offer_id",
    "offerid",
)


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


TITLE_KEYS = (
    "rawtitle",
    "title",
    "name",
    "goodsname",
    "productname",
    "itemname",
    "skuname",
    "spuname",
    "dishname",
    "foodname",
    "displayname",
    "wname",
)


@dataclass
class JsonProposal:
    items: str
    """JMESPath to the items."""
    fields: dict[str, Any]
    """Offer field → JMESPath (or a table, e.g. a price in fen with ``scale``)."""
    count: int
    """Items found there."""
    examples: dict[str, str] = field(default_factory=dict)
    """Offer field → the first item's value, for the comments of the proposal."""


def key_path(parts: list[str]) -> str:
    """A JMESPath from keys and ``[]`` (flatten) steps; keys that are not identifiers are quoted."""
    out: list[str] = []
    for part in parts:
        if part in ("[]", "*"):
            out.append("[]" if part == "[]" else ".*")
            continue
        index = re.match(r"^(.*)(\[\d+\])$", part)
        name, suffix = (index.group(1), index.group(2)) if index else (part, "")
        step = name if _IDENTIFIER.match(name) else '"' + name.replace('"', '\\"') + '"'
        out.append(("." if out else "") + step + suffix)
    return "".join(out)


def arrays(
    data: Any, path: list[str] | None = None, depth: int = 0
) -> Iterator[tuple[list[str], list[dict]]]:
    """Every list of objects in ``data`` with its path; lists inside lists of objects are flattened
    (``categories[].items``) so that each path names every item once."""
    path = path or []
    if depth > 12:
        return
    if isinstance(data, dict):
        values = list(data.values())
        if len(values) >= 3 and all(isinstance(v, dict) for v in values):  # {"2496918240": {...}, …}
            yield [*path, "*"], values
        for key, value in data.items():
            yield from arrays(value, [*path, str(key)], depth + 1)
    elif isinstance(data, list):
        objects = [x for x in data if isinstance(x, dict)]
        if len(objects) >= max(1, len(data) // 2) and objects:
            yield path, objects
            merged: dict[str, list] = {}
            for obj in objects:
                for key, value in obj.items():
                    if isinstance(value, list | dict):
                        merged.setdefault(str(key), []).append(value)
            for key, values in merged.items():
                flat = [v for vs in values for v in (vs if isinstance(vs, list) else [vs])]
                if all(isinstance(v, list) for v in values):
                    yield from arrays(flat, [*path, "[]", key], depth + 1)
                else:
                    for value in values[:1]:
                        yield from arrays(value, [*path, "[]", key], depth + 1)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _is_title(key: str, value: Any) -> bool:
    folded = key.lower()
    text = _text(value)
    if text is None or not ("title" in folded or "name" in folded) or any(w in folded for w in _NOT_TITLE):
        return False
    return len(text) >= 4 or (len(text) >= 2 and not text.isascii())


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)) if value > 0 else None
    text = _text(value)
    if text is None or len(text) > 40:
        return None
    amount = parse_price(text).amount
    return amount if amount is not None and amount > 0 else None


def _price_key(key: str) -> bool:
    folded = key.lower()
    if folded.endswith(("id", "ids")):
        return False
    return ("price" in folded or folded in ("p", "amount", "jdprice", "sale")) and not any(
        w in folded for w in _NOT_PRICE
    )


def flat_values(
    obj: dict, prefix: list[str] | None = None, depth: int = 0
) -> Iterator[tuple[list[str], Any]]:
    """(key path, value) of an item's scalars, two levels of nested objects included
    (``price.amount``, ``priceInfo.currentPrice.price``), and the first of a list of objects
    (``skus[0].price``)."""
    prefix = prefix or []
    for key, value in obj.items():
        path = [*prefix, str(key)]
        if isinstance(value, dict) and depth < 2:
            yield from flat_values(value, path, depth + 1)
        elif (
            isinstance(value, list)
            and value
            and isinstance(value[0], dict)
            and depth < 1
            and _not_items(value)
        ):
            yield from flat_values(value[0], [*path[:-1], f"{path[-1]}[0]"], depth + 1)  # skus[0].price
        elif not isinstance(value, list | dict):
            yield path, value


def _scalars_of(obj: dict, path: list[str], depth: int) -> Iterator[tuple[list[str], Any]]:
    for key, value in obj.items():
        if isinstance(value, dict) and depth < 2:
            yield from _scalars_of(value, [*path, str(key)], depth + 1)
        elif not isinstance(value, list | dict):
            yield [*path, str(key)], value


def _not_items(values: list[Any]) -> bool:
    """A list of skus or specs of one item (no titles of their own), not a list of items."""
    return not any(_is_title(path[-1], v) for path, v in _scalars_of(values[0], [], 0))


def _share(items: list[dict], test: Any) -> float:
    return sum(1 for item in items if any(test(p, v) for p, v in flat_values(item))) / len(items)


def _price_like(path: list[str], value: Any) -> bool:
    return _price_key(path[-1]) or (
        len(path) > 1 and _price_key(path[-2]) and path[-1] in ("amount", "value")
    )


def score(items: list[dict]) -> float:
    """How item-like these objects are: their number times the shares with a title and with a price."""
    sample = items[:50]
    titles = _share(sample, lambda p, v: _is_title(p[-1], v))
    prices = _share(sample, lambda p, v: _price_like(p, v) and _money(v) is not None)
    if len(items) < MIN_ITEMS or titles < MIN_SHARE or prices < MIN_SHARE:
        return 0.0
    return min(len(items), 200) * (titles + prices)


def propose_json(data: Any) -> JsonProposal | None:
    """The best item array of ``data`` and a field for each ``Offer`` field found in its items.

    Among the arrays of item-like objects, an outer one wins over the arrays inside its objects (a dish
    and its ingredients, a product and its options), then the highest score."""
    found = [
        (value, path, items) for path, items in arrays(data) if (value := score(items) * _named(path)) > 0
    ]
    outer = [c for c in found if not any(_inside(c[1], o[1]) for o in found)]
    if not outer:
        return None
    _, path, items = max(outer, key=lambda c: c[0])
    fields = propose_fields(items[:50])
    examples = {name: _example(items[0], spec) for name, spec in fields.items()}
    items_path = key_path(path) + ("[]" if path and path[-1] != "[]" and "[]" in path else "")
    return JsonProposal(items_path or "@", fields, len(items), {k: v for k, v in examples.items() if v})


_ITEM_WORDS = ("goods", "item", "product", "dish", "food", "spu", "sku", "list", "auction", "result", "offer")


def _named(path: list[str]) -> float:
    """Arrays named like item lists (``goods``, ``items``, ``dishList``) count half again."""
    key = next((p for p in reversed(path) if p not in ("[]", "*")), "").lower()
    return 1.5 if any(w in key for w in _ITEM_WORDS) else 1.0


def _inside(path: list[str], outer: list[str]) -> bool:
    """Whether ``path`` is an array inside the objects of the array at ``outer``."""
    return len(path) > len(outer) and path[: len(outer)] == outer and path[len(outer)] in ("[]", "*")


def _example(item: dict, spec: Any) -> str | None:
    path = spec["path"] if isinstance(spec, dict) else spec
    value: Any = item
    for part in re.findall(r'"((?:[^"\\]|\\.)*)"|([^.]+)', path):
        key = part[0] or part[1]
        value = value.get(key) if isinstance(value, dict) else None
    return None if value is None else str(value)[:60]


def propose_fields(items: list[dict]) -> dict[str, Any]:
    """Offer field → the key path that holds it in most items (JMESPath)."""
    columns: dict[tuple[str, ...], list[Any]] = {}
    for item in items:
        for path, value in flat_values(item):
            columns.setdefault(tuple(path), []).append(value)
    n = len(items)

    def filled(path: tuple[str, ...]) -> float:
        return sum(1 for v in columns[path] if v not in (None, "")) / n

    out: dict[str, Any] = {}
    title = _pick(
        columns,
        n,
        lambda p, vs: _is_title(p[-1], vs[0]) or any(_is_title(p[-1], v) for v in vs[:5]),
        lambda p, vs: (len(p), _rank(_norm(p[-1]), TITLE_KEYS), -sum("<" in str(v) for v in vs), -filled(p)),
    )
    if title:
        out["title"] = key_path(list(title))
    prices = [
        p
        for p, vs in columns.items()
        if (_price_like(list(p), vs[0]) or "coupon" in p[-1].lower())
        and sum(_money(v) is not None for v in vs) >= (MIN_SHARE if _kind(p) == "price" else 0.1) * n
    ]
    classified = _classify_prices(prices)
    fen = "price" in classified and in_fen(columns[classified["price"]])
    for name, price_path in classified.items():
        out[name] = {"path": key_path(list(price_path)), "scale": 0.01} if fen else key_path(list(price_path))
    listing = _pick(
        columns,
        n,
        lambda p, vs: (
            p[-1].lower().replace("-", "_") in ID_KEYS and len({str(v) for v in vs}) >= 0.9 * len(vs)
        ),
        lambda p, vs: (_rank(p[-1].lower().replace("-", "_"), ID_KEYS), len(p)),
    )
    if listing:
        out["listing_id"] = key_path(list(listing))
    for name, test in _OTHER_FIELDS.items():
        found = _pick(columns, n, test, lambda p, vs: (len(p), -filled(p)))
        if found and filled(found) >= 0.3 and key_path(list(found)) not in out.values():
            out[name] = key_path(list(found))
    return out


def in_fen(values: list[Any]) -> bool:
    """Prices that look like integer fen/cents (``2300`` for ¥23.00): whole numbers, the non-zero ones at
    least 100 and most of them multiples of 10 (yuan prices such as 35, 128 or 1299 are not)."""
    known = [v for v in values if v is not None]
    whole = [v for v in known if isinstance(v, int) and not isinstance(v, bool)]
    positive = [v for v in whole if v > 0]
    if not positive or len(whole) < 0.9 * len(known):
        return False
    return min(positive) >= 100 and sum(1 for v in positive if v % 10 == 0) >= 0.6 * len(positive)


def _rank(key: str, order: tuple[str, ...]) -> int:
    return order.index(key) if key in order else len(order)


def _pick(columns: dict, n: int, test: Any, order: Any) -> tuple[str, ...] | None:
    candidates = [p for p, vs in columns.items() if test(p, vs)]
    return min(candidates, key=lambda p: order(p, columns[p])) if candidates else None


def _classify_prices(paths: list[tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Selling price, list price and coupon price among the price-like keys (the selling price is the
    first key that is neither)."""
    out: dict[str, tuple[str, ...]] = {}
    for path in sorted(paths, key=lambda p: (len(p), _rank(_norm(p[-1]), PRICE_KEYS))):
        out.setdefault(_kind(path), path)
    for other in ("final_price", "list_price"):  # the only price shown is the price
        if "price" not in out and other in out:
            out["price"] = out.pop(other)
    return out


def _kind(path: tuple[str, ...]) -> str:
    """price, list_price or final_price, by the key's own name (``skuList[0].price`` is a price)."""
    last = path[-2:] if path[-1].lower() in ("amount", "value") and len(path) > 1 else path[-1:]
    words = "_".join(re.sub(r"\[\d+\]$", "", p) for p in last).lower()
    if any(w in words for w in _LIST_PRICE):
        return "list_price"
    if any(w in words for w in _FINAL_PRICE):
        return "final_price"
    return "price"


def _url_like(path: tuple[str, ...], values: list[Any]) -> bool:
    text = next((v for v in values if isinstance(v, str) and v), "")
    key = path[-1].lower()
    return (
        bool(text)
        and ("url" in key or "link" in key or "href" in key)
        and not _IMAGE.search(text)
        and (text.startswith(("http", "/")))
    )


def _image_like(path: tuple[str, ...], values: list[Any]) -> bool:
    text = next((v for v in values if isinstance(v, str) and v), "")
    key = path[-1].lower()
    return bool(text) and (
        any(w in key for w in ("img", "image", "pic", "thumb", "photo")) or bool(_IMAGE.search(text))
    )


def _keyed(*words: str, exclude: tuple[str, ...] = ()) -> Any:
    def test(path: tuple[str, ...], values: list[Any]) -> bool:
        key = "_".join(path).lower()
        return (
            any(w in key for w in words)
            and not any(w in key for w in exclude)
            and any(isinstance(v, str | int | float | Decimal | bool) and v not in ("", None) for v in values)
        )

    return test


_OTHER_FIELDS = {
    "url": _url_like,
    "image": _image_like,
    "seller": _keyed(
        *_SELLER_WORDS, exclude=("id", "url", "link", "logo", "level", "score", "type", "icon", "img", "pic")
    ),
    "brand": _keyed("brand", exclude=("id", "url", "logo", "img")),
    "shipping": _keyed(
        "freight", "shipping", "postage", "post_fee", "view_fee", "delivery_fee", "deliveryfee"
    ),
    "in_stock": _keyed("stock", "available", "sold_out", "soldout", exclude=("num", "count")),
    "currency": _keyed("currency", exclude=("symbol",)),
    "gtin": _keyed("barcode", "gtin", "ean", "upc"),
    "delivery": _keyed("delivery", "eta", exclude=("fee", "type", "id", "price")),
    "category": _keyed("category_name", "categoryname", "cat_name", exclude=("id",)),
}


_TOTAL_PAGES = ("totalpages", "total_pages", "pagecount", "page_count", "pages", "totalpage", "maxpage")
_CURSOR = ("next_cursor", "nextcursor", "cursor", "next_page_token", "nextpagetoken", "nextoffset")
_HAS_MORE = ("has_more", "hasmore", "hasnext", "has_next", "more")


def propose_pagination(data: Any, items_path: str) -> dict[str, Any] | None:
    """Pagination keys next to the items (outside them): a cursor, a total page count, a "has more"."""
    found: dict[str, str] = {}
    for path, value in _scalars(data, []):
        key = path[-1].lower()
        if "[]" in path or any(p.isdigit() for p in path):
            continue
        joined = key_path(path)
        if key in _CURSOR and isinstance(value, str | int) and value not in ("", 0):
            found.setdefault("cursor", joined)
        elif key in _TOTAL_PAGES and isinstance(value, int | str) and str(value).isdigit():
            found.setdefault("total_pages", joined)
        elif key in _HAS_MORE and isinstance(value, bool):
            found.setdefault("has_more", joined)
    if "cursor" in found:
        return {"kind": "cursor", "cursor": found["cursor"]}
    if "total_pages" in found or "has_more" in found:
        return {"kind": "page", **{k: v for k, v in found.items() if k in ("total_pages", "has_more")}}
    return None


def _scalars(data: Any, path: list[str], depth: int = 0) -> Iterator[tuple[list[str], Any]]:
    if depth > 6 or not isinstance(data, dict):
        return
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _scalars(value, [*path, str(key)], depth + 1)
        elif not isinstance(value, list):
            yield [*path, str(key)], value
