"""The buy box a shopper reads: the main heading and the price shown near it.

A price candidate is a short visible element whose text holds one amount and either a currency or a
price-ish name (``class="price"``, ``itemprop="price"``). Candidates inside strike-through markup
(``<del>``, ``<s>``, ``line-through``, "was"/"old"/"list" names) are list prices. Candidates inside
related-product carousels, headers, footers, menus and baskets are not the product's. The rest are
ranked by what they look like and by how close they follow the main heading; no shop's layout is
known here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from lxml.html import HtmlElement

from core.prices import parse_price
from core.values import sign_currency
from spiders.pages.visible import Seen, visible_text

_NUMBER = re.compile(r"\d(?:[\d.,'’\u00a0\u202f ]*\d)?")
_MAX_PRICE_TEXT = 48
_HEADING_OVERLAP = 0.3
_TITLE_NAME = re.compile(
    r"^[^|]*\|[^|]*(?:product|item|pdp|deal|goods|prod)s?[-_]?(?:title|name)\b", re.IGNORECASE
)
_FONT_SIZE = re.compile(r"font(?:-size)?\s*:[^;]*?(\d+(?:\.\d+)?)\s*(px|em|rem|pt)", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^\d[\d.,'’\u00a0\u202f ]*$")
_SIGNS = r"[$€£¥₩₹₽₺₪₫฿₱₴₸₦₵]|元|円|원|zł|Kč|Ft|kr|руб\.?|грн|лв|тг|Kn|RM|Rp|TL|Rs\.?"
_SIGN_AFTER = re.compile(rf"^\s{{0,2}}({_SIGNS})(?![^\W\d_])")
_SIGN_BEFORE = re.compile(rf"(?<![^\W\d_])({_SIGNS})\s{{0,2}}$")
_MAX_LABEL_LETTERS = 20
_LETTERS = re.compile(r"[^\W\d_]")
_PRICE_NAME = re.compile(
    r"price|preis|prix|prezzo|precio|preço|prijs|cena|cijena|hinta|pris|fiyat|цена|价|價"
)
_SALE_NAME = re.compile(r"sale|special|current|now|final|offer|actual|deal|promo|reduced|buy|selling|our")
_LIST_PART = re.compile(
    r"^(?:old|was|regular|strike|strikethrough|striked|compare|rrp|msrp|before|original|uvp|crossed|previous"
    r"|prev|del|s|line-through|barred|strikeout|crossedout|linethrough)$"
    r"|^(?:old|was|regular|list|strike|compare|original|crossed|previous|retail|reference|base|normal|full"
    r"|initial|market|suggested|recommended)price$|^price(?:old|was|before|list|regular|original)$"
)
_LIST_TEXT = re.compile(
    r"\brrp\b|\bmsrp\b|\buvp\b|\bwas\b|list price|listino|prix conseillé|preisempf|\bstatt\b|\bantes\b"
    r"|precio (?:anterior|normal)|preço de|\bprima\b|prix de référence|原价|原價|市场价|市場價|参考价|定价|建议零售价",
    re.IGNORECASE,
)
_ELSEWHERE = re.compile(
    r"related|recommend|similar|carousel|slider|swiper|upsell|up-sell|cross-?sell|also|recently|viewed"
    r"|footer|^(?:site|page|global|main)?[-_]?header$|masthead|^nav$|navbar|navigation|menu|minicart"
    r"|mini-cart|cart-(?:drawer|flyout|popup|preview)|bundle|accessor|sponsor|review|rating|comment"
    r"|breadcrumb|teaser|compar|suggest|banner|^tile$|[-_]tile$|instal|financ|coupon|voucher|loyalty"
    r"|reward|shipping|delivery|other-?(?:offers|sellers)|(?:deal|product|item|goods|prod)s?[-_]?(?:list|grid|thumb|card|tile)"
)
_WORDS = re.compile(r"[^\s|]+")
_NEGATED = re.compile(r"^(?:no|not|non|without)[-_]")


def _names(tokens: str) -> list[str]:
    """The class, id and itemprop words in ``Seen.tokens`` lines (tag names left out)."""
    return [
        w
        for line in tokens.split("\n")
        for w in _WORDS.findall(line.split("|", 1)[-1])
        if not _NEGATED.match(w)
    ]


def elsewhere(tokens: str) -> bool:
    """Is the element inside something that is not the product's buy box (carousel, menu, footer…)?"""
    return any(_ELSEWHERE.search(word) for word in _names(tokens))


def _struck(s: Seen, text: str) -> bool:
    """Is this a list price: struck through (``<del>``, ``<s>``, ``line-through``), named as an old or
    list price, or labelled so (``RRP``, ``was``, ``原价``)?"""
    if s.element.tag in ("del", "s", "strike") or "line-through" in (s.element.get("style") or ""):
        return True
    lines = s.near(3)
    if re.search(r"^(?:del|s|strike)\|", lines, re.MULTILINE):
        return True
    parts = (
        part
        for word in _names(lines)
        for part in (word.replace("-", "").replace("_", ""), *re.split(r"[-_]+", word))
    )
    return any(_LIST_PART.match(part) for part in parts) or bool(_LIST_TEXT.search(text))


_NOT_A_PRICE = re.compile(
    r"%|/\s*(?:kg|g|l|ml|m|m2|m²|st|stk|pc|pcs|unit|mo|month|mes|monat|mois)\b|\bper\b|\bpro\b|\bje\b"
    r"|month|monat|mois|mese|\bmes\b|cuota|installment|rate|x\s*\d|\d\s*x\b|save|sparen|économ|risparm"
    r"|ahorr|\boff\b|shipping|delivery|versand|livraison|spedizion|envío|envio|frete|运费|配送费|reviews?"
    r"|bewertung|avis|ratings?|sold|verkauft|vendu|venduti|vendid|watch|bids?|gebot|offerte|stars?|votes?"
    r"|\bqty\b|items?\b|artikel\b|points|punkte",
    re.IGNORECASE,
)
_CURRENCY_WORD = re.compile(
    r"[$€£¥₩₹₽₺₪₫฿₱₴₸₦₵]|\b[A-Z]{3}\b|元|円|원|руб|грн|тг|(?i:\b(?:zł|kč|lei|kr|tl|rs|ft|rp|rm)\b)"
)


@dataclass
class PriceSeen:
    """An amount shown on the page, where, and how much it looks like the product's price."""

    amount: Decimal
    currency: str | None
    """ISO code when the text names or implies one (``$`` settled by the hint)."""
    symbol: str | None
    text: str
    seen: Seen
    struck: bool
    score: float = 0.0

    @property
    def position(self) -> int:
        return self.seen.position


def heading(seen: list[Seen], names: list[str]) -> Seen | None:
    """The product's main heading: the ``<h1>`` most like the names the markup gives (the first one when
    no name helps), else an element named like a product title (``product-title``, ``deal_title``…)."""
    h1s = [s for s in seen if s.element.tag == "h1" and not elsewhere(s.tokens)]
    titled = [s for s in seen if _TITLE_NAME.search(s.near(1)) and not elsewhere(s.tokens)][:5]
    wanted = [_words(n) for n in names if n]
    for group in (h1s, titled):
        if not group:
            continue
        if not wanted:
            return group[0]
        overlap = {id(s): max(_overlap(_words(s.element.text_content()), w) for w in wanted) for s in group}
        best = max(group, key=lambda s: (overlap[id(s)], -s.position))
        if len(group) == 1 or overlap[id(best)] >= _HEADING_OVERLAP:
            return best
    return None  # several headings (product cards?) and none is named like the page: no main one


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b))) if a and b else 0.0


def price_candidates(
    seen: list[Seen], page_hidden: frozenset[str], currency_hint: str | None
) -> list[PriceSeen]:
    """Every visible amount that looks like a price, each once: the innermost element that shows it
    whole (with its currency when the page writes one)."""
    found: dict[int, PriceSeen] = {}
    for s in seen:
        el = s.element
        own = (el.text or "") + "".join(c.tail or "" for c in el)
        if not any(ch.isdigit() for ch in own) and not _has_digit_child(el):
            continue
        candidate = _candidate(s, page_hidden, currency_hint)
        if candidate is not None:
            found[id(el)] = candidate
    dropped: set[int] = set()
    for c in found.values():
        parent = c.seen.element.getparent()
        for _ in range(4):
            if parent is None:
                break
            outer = found.get(id(parent))
            if outer is not None and outer.amount == c.amount and (c.symbol or not outer.symbol):
                dropped.add(id(parent))
            parent = parent.getparent()
    return [c for key, c in found.items() if key not in dropped]


def _beside(el: HtmlElement, text: str) -> str:
    """A bare number with the currency written just outside its element (``<b>294</b> 元``,
    ``$<span>12</span>``) gets that currency."""
    if not _BARE_NUMBER.match(text):
        return text
    following = el.getnext()
    tail = el.tail
    if not (tail or "").strip() and following is not None and isinstance(following.tag, str):
        tail = (following.text or "")[:12]
    after = _SIGN_AFTER.match(tail or "")
    if after:
        return f"{text} {after.group(1)}"
    previous = el.getprevious()
    before_text = (
        previous.tail if previous is not None else (el.getparent().text if el.getparent() is not None else "")
    ) or ""
    before = _SIGN_BEFORE.search(before_text)
    return f"{before.group(1)}{text}" if before else text


def _has_digit_child(el: HtmlElement) -> bool:
    return len(el) <= 6 and any(ch.isdigit() for ch in (el.text_content() or "")[:80])


def _candidate(s: Seen, page_hidden: frozenset[str], hint: str | None) -> PriceSeen | None:
    text = _beside(s.element, visible_text(s.element, page_hidden, limit=_MAX_PRICE_TEXT * 2))
    if not text or len(text) > _MAX_PRICE_TEXT or len(_NUMBER.findall(text)) != 1:
        return None
    named = bool(_PRICE_NAME.search(s.near(3)))
    if not (named or _CURRENCY_WORD.search(text)) or _NOT_A_PRICE.search(text):
        return None
    if len(_LETTERS.findall(_NUMBER.sub("", text))) > _MAX_LABEL_LETTERS:  # a sentence, not a price
        return None
    parsed = parse_price(text)  # no hint: price-parser would prefer it to a code written in the text
    if parsed.amount is None or parsed.amount <= 0 or not (named or parsed.currency_symbol):
        return None
    currency = sign_currency(parsed.currency_symbol, hint)
    return PriceSeen(parsed.amount, currency, parsed.currency_symbol, text, s, _struck(s, text))


def rank(candidates: list[PriceSeen], title: Seen | None, known: set[Decimal]) -> list[PriceSeen]:
    """Candidates scored and sorted best first (list prices last)."""
    for c in candidates:
        c.score = _score(c, title, known)
    return sorted(candidates, key=lambda c: (c.struck, -c.score, c.position))


def _score(c: PriceSeen, title: Seen | None, known: set[Decimal]) -> float:
    near = c.seen.near(3)
    score = 2.0 if c.symbol else 0.0
    score += 1.0 if _large(c.seen.element) else 0.0
    score += 2.0 if _PRICE_NAME.search(near) else 0.0
    score += 1.0 if re.search(r"\|price$", c.seen.near(2), re.MULTILINE) else 0.0
    score += 0.5 if _SALE_NAME.search(c.seen.near(2)) else 0.0
    score -= 4.0 if elsewhere(c.seen.tokens) else 0.0
    score += 3.0 if c.amount in known else 0.0
    if title is not None:
        distance = c.position - title.position
        score += 2.0 * max(0.0, 1 - distance / 400) if distance >= 0 else -1.0 - min(2.0, -distance / 400)
    return score


def _large(el: HtmlElement) -> bool:
    """Written large by the page's own inline style (``font-size: 27px``, ``font: bold 2em …``)?"""
    size = _FONT_SIZE.search(el.get("style") or "")
    if size is None:
        return False
    value, unit = float(size.group(1)), size.group(2).lower()
    return value >= (18 if unit == "px" else 1.4 if unit in ("em", "rem") else 14)


def choose(ranked: list[PriceSeen], threshold: float) -> tuple[PriceSeen | None, PriceSeen | None]:
    """(the buy-box price, the list price struck through beside it) from ranked candidates."""
    best = next((c for c in ranked if not c.struck), None)
    if best is None or best.score < threshold:
        return None, None
    struck = [
        c
        for c in ranked
        if c.struck and c.amount > best.amount and abs(c.position - best.position) <= 40 and c.score > 0
    ]
    return best, min(struck, key=lambda c: abs(c.position - best.position), default=None)
