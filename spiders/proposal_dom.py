"""Proposing an HTML field map (``bijia marketplaces add`` with no ``--shape``, on a page without item
JSON): find the repeated blocks that contain prices — the item — and, inside them, the selectors of the
title, price, link, image and the other fields. Pure functions over HTML (static or rendered).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from core.prices import parse_price

PRICE_TEXT = re.compile(
    r"[¥￥$€£]\s*\d|\b(?:EUR|USD|GBP|CNY|RMB|CHF)\s*\d|\d[\d,.]*\s*(?:元|RMB|CNY|USD|EUR|€|£)|\d[.,]\d\d\b"
)
_CSS = HTMLTranslator()
CURRENCY = re.compile(r"[¥￥$€£]|元|RMB|CNY")
MIN_ITEMS = 3
ID_ATTRIBUTES = (
    "data-sku",
    "data-id",
    "data-item",
    "data-item-id",
    "data-offer",
    "data-pid",
    "data-product-id",
    "data-goods-id",
    "data-spu",
    "data-nid",
    "data-itemid",
    "sku",
)
_CLASS_WORDS = {
    "title": ("title", "name"),
    "final_price": ("coupon", "final", "promo", "after"),
    "list_price": ("original", "market", "old", "del", "was", "line"),
    "seller": ("shop", "store", "seller", "mall"),
    "shipping": ("ship", "freight", "postage", "fee"),
    "in_stock": ("stock", "avail"),
    "delivery": ("delivery", "eta", "arrive"),
}
NOISE = ("promo", "offscreen", "sr-only", "hidden", "ad", "tag", "icon", "label", "badge")
"""Class words of text that is not part of a title (promotion words, screen-reader-only labels)."""
_SHIPPING_TEXT = re.compile(r"包邮|免运费|运费|免邮|free shipping|shipping", re.I)
_STOCK_TEXT = re.compile(r"有货|无货|现货|缺货|售罄|in stock|out of stock|sold out", re.I)
_SKIP = {"script", "style", "noscript", "template", "svg"}


@dataclass
class DomProposal:
    items: str
    fields: dict[str, Any]
    count: int
    examples: dict[str, str] = field(default_factory=dict)


def _classes(el: Any) -> list[str]:
    """The element's classes that can be selectors and are not per-item (``J_6039832`` is)."""
    return [
        c
        for c in (el.get("class") or "").split()
        if re.match(r"^[A-Za-z_][\w-]*$", c) and not re.search(r"\d{3}", c)
    ]


def _signature(el: Any) -> tuple[str, tuple[str, ...]]:
    return el.tag, tuple(sorted(_classes(el)))


def _own_text(el: Any) -> str:
    return " ".join(t.strip() for t in el.itertext() if t.strip())


def price_elements(root: Any) -> list[Any]:
    """The innermost elements whose text looks like a price (``¥5,999.00``, ``99元``, ``$5.00``)."""
    found = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in _SKIP:
            continue
        text = _own_text(el)
        if len(text) > 40 or not PRICE_TEXT.search(text):
            continue
        if any(isinstance(c.tag, str) and PRICE_TEXT.search(_own_text(c)) for c in el):
            continue  # a child holds the price: keep the innermost
        if parse_price(text).amount is not None:
            found.append(el)
    return found


def find_items(root: Any) -> list[Any]:
    """The repeated blocks holding prices: for each price, the ancestor whose siblings of the same tag
    and classes hold prices too, at the level where most of them do."""
    prices = price_elements(root)
    # sets of the elements themselves: they keep lxml's proxies alive (an id() of a proxy is not stable)
    priced = {el for p in prices for el in [p, *p.iterancestors()]}
    best: tuple[int, int, list[Any]] = (0, 0, [])
    seen: set[Any] = set()
    for price in prices:
        for depth, ancestor in enumerate([price, *price.iterancestors()]):
            parent = ancestor.getparent()
            if parent is None or ancestor in seen:
                continue
            seen.add(ancestor)
            signature = _signature(ancestor)
            siblings = [c for c in parent if isinstance(c.tag, str) and _signature(c) == signature]
            with_price = [c for c in siblings if c in priced]
            if len(with_price) >= MIN_ITEMS and (len(with_price), -depth) > (best[0], best[1]):
                best = (len(with_price), -depth, with_price)
    return best[2]


def item_selector(items: list[Any]) -> str:
    tag, classes = _signature(items[0])
    if classes:
        return tag + "".join(f".{c}" for c in classes)
    parent = items[0].getparent()
    parent_classes = _classes(parent) if parent is not None else []
    if parent is not None and parent.get("id"):
        return f"#{parent.get('id')} > {tag}"
    if parent_classes:
        return f"{parent.tag}.{parent_classes[0]} > {tag}"
    return tag


def relative_selector(item: Any, el: Any) -> str:
    """A CSS path from ``item`` to ``el``: each step its tag and first class."""
    steps = []
    node = el
    while node is not None and node is not item:
        classes = _classes(node)
        steps.append(f"{node.tag}.{classes[0]}" if classes else node.tag)
        node = node.getparent()
    return " ".join(reversed(steps))


def selectors_for(item: Any, el: Any) -> list[str]:
    """CSS selectors, short ones first, whose first match inside ``item`` is ``el``."""
    own = _classes(el)
    candidates = [f"{el.tag}.{c}" for c in own] + [f".{c}" for c in own]
    ancestor, steps = el.getparent(), 0
    while ancestor is not None and ancestor is not item and steps < 3:
        candidates += [f"{ancestor.tag}.{c} {el.tag}" for c in _classes(ancestor)]
        candidates += [f"{ancestor.tag}.{c} {el.tag}.{o}" for c in _classes(ancestor) for o in own[:1]]
        ancestor, steps = ancestor.getparent(), steps + 1
    candidates.append(relative_selector(item, el))
    found = []
    for candidate in dict.fromkeys(candidates):
        matches = item.xpath(_xpath(candidate))
        if matches and matches[0] is el:
            found.append(candidate)
    return found


def _xpath(css: str) -> str:
    return _CSS.css_to_xpath(css, prefix="descendant::")


def _common(items: list[Any], pick: Any) -> str | None:
    """The selector that finds what ``pick`` picks in most items (``None`` when it works in few)."""
    votes: Counter[str] = Counter()
    for item in items:
        el = pick(item)
        if el is not None:
            votes.update(selectors_for(item, el))
    if not votes:
        return None
    best = min(votes, key=lambda sel: (-votes[sel], " " in sel, len(sel)))
    return best if votes[best] >= 0.6 * len(items) else None


def _first(item: Any, test: Any) -> Any:
    return next((el for el in item.iter() if isinstance(el.tag, str) and el is not item and test(el)), None)


def _has_class(el: Any, words: tuple[str, ...]) -> bool:
    """Whether a word of one of the element's classes starts with one of ``words`` (``p-price``,
    ``coupon-price``, ``shopName``; not ``a-text-bold`` for ``old``)."""
    tokens = [t for c in _classes(el) for t in re.split(r"[-_]|(?<=[a-z])(?=[A-Z])", c)]
    return any(t.lower().startswith(w) for t in tokens for w in words)


def propose_dom(text: str) -> DomProposal | None:
    """An HTML field map for the page's repeated price blocks; ``None`` when it has none."""
    root = lxml_html.fromstring(text)
    items = find_items(root)
    if not items:
        return None
    prices = set(price_elements(root))
    fields: dict[str, Any] = {}
    others = _CLASS_WORDS["list_price"] + _CLASS_WORDS["final_price"]
    price = _common(
        items,
        lambda it: _with_symbol(_first(it, lambda el: el in prices and not _has_class(el, others)), it),
    )
    if price:
        fields["price"] = price
    title = _common(items, lambda it: _title(it))
    if title:
        fields["title"] = title
    link = _common(
        items,
        lambda it: _first(
            it,
            lambda el: (
                el.tag == "a"
                and el.get("href", "").strip() not in ("", "#")
                and not el.get("href", "").startswith("javascript")
            ),
        ),
    )
    if link:
        fields["url"] = f"{link}::attr(href)"
    image = _common(items, lambda it: _first(it, lambda el: el.tag == "img"))
    if image:
        fields["image"] = f"{image}::attr({_image_attribute(items)})"
    for name in ("final_price", "list_price", "seller", "delivery"):
        words = _CLASS_WORDS[name]
        priced = name.endswith("price")
        found = _common(
            items,
            lambda it, w=words, pr=priced: _first(
                it,
                lambda el: (
                    _has_class(el, w) and bool(PRICE_TEXT.search(_own_text(el)) if pr else _own_text(el))
                ),
            ),
        )
        if found and found not in fields.values():
            fields[name] = found
    shipping = _common(
        items,
        lambda it: _first(
            it, lambda el: bool(_SHIPPING_TEXT.search(_own_text(el))) and len(_own_text(el)) < 30
        ),
    )
    if shipping and shipping not in fields.values():
        fields["shipping"] = shipping
    stock = _common(
        items,
        lambda it: _first(it, lambda el: bool(_STOCK_TEXT.search(_own_text(el))) and len(_own_text(el)) < 20),
    )
    if stock and stock not in fields.values():
        fields["in_stock"] = stock
    attribute = next((a for a in ID_ATTRIBUTES if all(it.get(a) for it in items)), None)
    if attribute:
        fields["listing_id"] = f"@{attribute}"
    return DomProposal(item_selector(items), fields, len(items), _examples(items[0], fields))


def _with_symbol(el: Any, item: Any) -> Any:
    """The price element, or its closest ancestor that shows the currency too (``<em>￥</em><i>23.80</i>``)."""
    node = el
    for _ in range(2):
        if node is None or CURRENCY.search(_own_text(node)):
            return node
        parent = node.getparent()
        if parent is None or parent is item or len(_own_text(parent)) > 25:
            return el
        node = parent
    return node if node is not None and CURRENCY.search(_own_text(node)) else el


def _image_attribute(items: list[Any]) -> str:
    """The attribute most items keep their image URL in (lazy-loading pages use ``data-*``)."""
    counts = Counter(
        attr
        for item in items
        for attr in ("data-lazy-img", "data-src", "data-original", "data-ks-lazyload", "src")
        if "/" in (next(iter(item.xpath(f".//img/@{attr}")), "") or "")
    )
    return counts.most_common(1)[0][0] if counts else "src"


def _title(item: Any) -> Any:
    """The item's title: an element whose class says title/name, else its longest link text; inside it,
    the part that leaves out noise (promotion words, screen-reader-only labels) when there is some."""
    named = _first(item, lambda el: _has_class(el, _CLASS_WORDS["title"]) and len(_own_text(el)) >= 4)
    if named is None:
        links = [
            el for el in item.iter("a") if len(_own_text(el)) >= 4 and not PRICE_TEXT.fullmatch(_own_text(el))
        ]
        named = max(links, key=lambda el: len(_own_text(el)), default=None)
    return _without_noise(named) if named is not None else None


def _without_noise(el: Any) -> Any:
    """The largest descendant of ``el`` free of noise elements, when ``el`` holds one with text."""
    descendants = [d for d in el.iterdescendants() if isinstance(d.tag, str)]
    # noise that would change the title: a promotion sentence, a hidden label (a short badge stays)
    noisy = [d for d in descendants if _has_class(d, NOISE) and len(_own_text(d)) >= 6]
    if not noisy:
        while True:  # down to the element that holds the text itself (<a><em>title</em></a>)
            same = [c for c in el if isinstance(c.tag, str) and _own_text(c) == _own_text(el)]
            if len(same) != 1:
                return el
            el = same[0]
    clean = [
        d
        for d in descendants
        if len(_own_text(d)) >= 4 and not any(n is d or n in set(d.iterdescendants()) for n in noisy)
    ]
    return max(clean, key=lambda d: len(_own_text(d)), default=el)


def _examples(item: Any, fields: dict[str, Any]) -> dict[str, str]:
    """What each proposed field reads in the first item (as the engine reads it: the first match)."""
    sel = Selector(root=item)
    out = {}
    for name, spec in fields.items():
        if spec.startswith("@"):
            value = item.get(spec[1:])
        elif "::" in spec:
            value = sel.css(spec).get()
        else:
            first = sel.css(spec)[:1]
            value = " ".join("".join(first.xpath(".//text()").getall()).split()) if first else None
        if value:
            out[name] = value[:60]
    return out
