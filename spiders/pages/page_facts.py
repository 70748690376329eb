"""Facts a shopper reads in words near the buy box: availability, shipping lines, and the identifiers of
spec tables ("SKU", "Item number", "EAN", "Model", "货号", "型号" …)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.values import availability_words, gtin
from spiders.pages.buybox import elsewhere
from spiders.pages.visible import Seen, visible_text

_AVAILABILITY_NAME = re.compile(r"avail|stock|inventory|lager|dispon|stock|verfügbar|库存|庫存|在庫")
_BUY_CONTROL = re.compile(
    r"add[-_]?to[-_]?(?:cart|basket|bag)|addtocart|buy[-_]?(?:button|now)|^(?:button|a)\|[^\n]*\bbtn\b",
    re.IGNORECASE | re.MULTILINE,
)
"""Inside a buy button, availability words are a state the page's scripts toggle, not what it shows."""
_SHIPPING_WORDS = re.compile(
    r"shipping|delivery|postage|versand|lieferung|livraison|spedizione|envío|envio|frete|verzending|доставка"
    r"|运费|包邮|免运费|配送|送料",
    re.IGNORECASE,
)
_LABELS: dict[str, tuple[str, ...]] = {
    "sku": (
        "sku",
        "item number",
        "item no",
        "item #",
        "item code",
        "article number",
        "article no",
        "art.-nr",
        "art. nr",
        "artikelnummer",
        "artikel-nr",
        "product code",
        "product id",
        "product number",
        "product no",
        "code produit",
        "référence",
        "reference",
        "ref",
        "réf",
        "código",
        "codice",
        "codice articolo",
        "kód",
        "kod",
        "код",
        "артикул",
        "asin",
        "item id",
        "listing id",
        "post id",
        "ad id",
        "numero oggetto",
        "codice prodotto",
        "numéro de l'objet",
        "numéro d'article",
        "n° d'article",
        "référence produit",
        "artikelnr",
        "art.nr",
        "šifra",
        "šifra artikla",
        "kód produktu",
        "kod produktu",
        "katalógové číslo",
        "код товара",
        "商品代码",
        "商品代碼",
        "品號",
        "商品编号",
        "商品編號",
        "货号",
        "貨號",
        "商品番号",
    ),
    "mpn": (
        "mpn",
        "model",
        "model number",
        "model no",
        "item model number",
        "part number",
        "manufacturer part number",
        "modell",
        "modellnummer",
        "modèle",
        "modelo",
        "modello",
        "型号",
        "型號",
        "品番",
        "型番",
    ),
    "gtin": (
        "ean",
        "gtin",
        "upc",
        "barcode",
        "isbn",
        "isbn-13",
        "ean-13",
        "ean13",
        "jan",
        "条码",
        "条形码",
        "條碼",
    ),
}
_LABEL_FIELD = {label: name for name, labels in _LABELS.items() for label in labels}
_RANK = {label: n for labels in _LABELS.values() for n, label in enumerate(labels)}
_BY_LENGTH = sorted(_LABEL_FIELD, key=len, reverse=True)
_KNOWN = "|".join(re.escape(label) for label in _BY_LENGTH)
_LABEL_VALUE = re.compile(
    rf"^(.{{0,24}}?(?<![^\W_])(?:{_KNOWN})(?![^\W_]).{{0,8}}?)\s*[:：#.]\s*(\S.{{0,40}})$", re.IGNORECASE
)
_FORMAT_CHARS = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060\ufeff]")
_ID_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]{1,38}[A-Za-z0-9]$")


@dataclass
class PageFacts:
    in_stock: bool | None = None
    shipping_text: str | None = None
    identifiers: dict[str, str] = field(default_factory=dict)
    """``sku``, ``mpn``, ``gtin`` read from labelled spec rows."""
    label_ranks: dict[str, int] = field(default_factory=dict)
    """How specific the label each identifier came from is (0 = most: ``SKU`` before ``Code``)."""


def read_facts(seen: list[Seen], page_hidden: frozenset[str], anchor: int | None) -> PageFacts:
    """Availability words, a shipping line and spec identifiers; ``anchor`` is the buy-box position
    (availability and shipping are read within reach of it)."""
    facts = PageFacts()
    for s in seen:
        near_anchor = anchor is not None and -150 <= s.position - anchor <= 400
        tag = s.element.tag
        if tag in ("tr", "dl", "li") or (tag in ("p", "div", "span") and len(s.element) <= 4):
            _identifier(s, page_hidden, facts)
        if not near_anchor:
            continue
        readable = _AVAILABILITY_NAME.search(s.near(2)) or tag in ("p", "span", "div")
        if (
            facts.in_stock is None
            and readable
            and not _BUY_CONTROL.search(s.tokens)
            and not elsewhere(s.tokens)
        ):
            text = visible_text(s.element, page_hidden, limit=120)
            if 0 < len(text) <= 80:
                facts.in_stock = availability_words(text)
        if facts.shipping_text is None and tag in ("p", "span", "div", "li", "dd", "td"):
            text = visible_text(s.element, page_hidden, limit=160)
            if len(text) <= 120 and _SHIPPING_WORDS.search(text) and not len(s.element) > 6:
                facts.shipping_text = text
    return facts


def _identifier(s: Seen, page_hidden: frozenset[str], facts: PageFacts) -> None:
    el = s.element
    if el.tag == "tr":
        cells = [visible_text(c, page_hidden, 80) for c in el if c.tag in ("th", "td")]
        pairs = [(cells[0], cells[1])] if len(cells) == 2 else []
    elif el.tag == "dl":
        terms = [visible_text(c, page_hidden, 80) for c in el if c.tag in ("dt", "dd")]
        pairs = list(zip(terms[::2], terms[1::2], strict=False))
    else:
        match = _LABEL_VALUE.match(_FORMAT_CHARS.sub("", visible_text(el, page_hidden, 80)))
        pairs = [(match.group(1), match.group(2))] if match else []
    for label, value in pairs:
        _keep(_FORMAT_CHARS.sub("", label), _FORMAT_CHARS.sub("", value).strip(" :：#."), facts)


def _keep(label: str, value: str, facts: PageFacts) -> None:
    """Keep an identifier under its field when the label is known (the most specific label wins)."""
    label = label.strip().rstrip(".:：#").strip().lower()
    known = next((k for k in _BY_LENGTH if re.search(rf"(?<![^\W_]){re.escape(k)}(?![^\W_])", label)), None)
    if known is None or not _ID_LIKE.match(value) or not any(c.isdigit() for c in value):
        return
    name, rank = _LABEL_FIELD[known], _RANK[known]
    if name == "gtin":
        value = gtin(value) or ""
    if value and rank < facts.label_ranks.get(name, len(_RANK)):
        facts.identifiers[name] = value
        facts.label_ranks[name] = rank
