"""Promotion texts (满300减50, 每满100减10, 8折, 第二件半价, 2件8折, 直降200, 券, 跨店满减, 满99包邮) as rules.

``parse_promotion(text)`` gives the rules one text states (a text may state tiers: ``满199减20 满299减40``);
an unknown text gives none (its raw text is kept on the offer either way). Each rule keeps its raw text,
a scope (``item``: this listing; ``store``: the shop's items that show it; ``marketplace``: such items
across the marketplace's shops, 跨店) and its validity dates when the text states them.

How rules combine (``core.promo_pricing``): item rules make a line's price (``直降``/``折扣``/``券`` only
when the shop shows no 券后价 — a 券后价 already includes them; the best of ``第N件`` / ``N件M折``); then the
best 满减 tier (满减 or 每满减) and the best coupon of each store and of the marketplace, on the subtotal of
the items that show them, never more than that subtotal; shipping once per store, waived at its 包邮
threshold.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from core.numerals import CN_NUMERAL, cn_to_int


class Kind(StrEnum):
    threshold = "threshold"
    """满A减B: spend A, B off (once)."""
    per_threshold = "per_threshold"
    """每满A减B: B off for every A, up to ``cap``."""
    discount = "discount"
    """X折 / 打X折 / X% off: every unit at ``rate``."""
    nth_item = "nth_item"
    """第N件X折 / 第二件半价 / 第二件1元 / 买N送1: in each group of ``nth`` units, the last at ``rate`` (or
    ``amount`` yuan)."""
    multi_buy = "multi_buy"
    """N件M折 (from ``min_items`` units, all at ``rate``) / N件M元 (each group of ``min_items`` for ``amount``)."""
    direct = "direct"
    """直降 / 立减 B: B off each unit."""
    coupon = "coupon"
    """A coupon (券): spend ``threshold`` (0: 无门槛), ``amount`` off; one coupon per store or marketplace."""
    free_shipping = "free_shipping"
    """满A包邮 / 满N件包邮 / 包邮: no shipping from ``threshold`` yuan or ``min_items`` units."""


class Scope(StrEnum):
    item = "item"
    store = "store"
    marketplace = "marketplace"


@dataclass(frozen=True)
class Rule:
    kind: Kind
    scope: Scope
    raw: str
    threshold: Decimal | None = None
    amount: Decimal | None = None
    rate: Decimal | None = None
    """Price multiplier: 8折 → 0.8, 半价 → 0.5."""
    nth: int | None = None
    min_items: int | None = None
    cap: Decimal | None = None
    starts: date | None = None
    ends: date | None = None

    def active_on(self, day: date) -> bool:
        return (self.starts is None or self.starts <= day) and (self.ends is None or day <= self.ends)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind.value, "scope": self.scope.value, "raw": self.raw}
        for name in ("threshold", "amount", "rate", "nth", "min_items", "cap", "starts", "ends"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value if isinstance(value, int) else str(value)
        return out


_CN_NUMBER = re.compile(CN_NUMERAL)
_NUM = r"(\d+(?:\.\d+)?)"
_DAY = r"(?:(\d{4})[年./-])?(\d{1,2})[月./-](\d{1,2})日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
_RANGE = re.compile(rf"{_DAY}\s*(?:-|~|至|到|—)\s*{_DAY}")
_UNTIL = re.compile(rf"(?:截止|截至|有效期至|至|到){_DAY}(?:止|前|结束)?")
_ON = re.compile(rf"(?:仅限|限){_DAY}(?:当天|当日)?")
_MARKETPLACE = ("跨店", "全平台", "平台券", "平台", "品类券", "购物津贴", "津贴", "全品类")
_STORE = ("店铺", "全店", "本店", "全场", "店内", "门店")
_ITEM = ("单品", "本商品", "此商品", "该商品", "本品")


def _cn_number(match: re.Match[str]) -> str:
    """一 → 1, 十五 → 15, 二百 → 200, 八五 → 85 (as in 八五折)."""
    return str(cn_to_int(match.group(0)))


def normalise(text: str) -> str:
    """Half-width, no spaces or currency signs, Chinese numerals as digits (第二件 → 第2件, 八折 → 8折)."""
    t = unicodedata.normalize("NFKC", text).replace(" ", "").replace("\u3000", "")
    t = re.sub(r"(?<=\d),(?=\d{3})", "", t)
    t = t.replace("¥", "").replace("￥", "").replace("RMB", "").replace("块", "元")
    t = t.replace("半价", "5折").replace("免费", "0元").replace("减免", "减")
    return _CN_NUMBER.sub(_cn_number, t)


def _day(today: date, year: str | None, month: str, day: str) -> date | None:
    try:
        return date(int(year) if year else today.year, int(month), int(day))
    except ValueError:
        return None


def _dates(text: str, today: date) -> tuple[str, date | None, date | None]:
    """The text without its validity dates, and the dates (a range ending before it starts rolls over a
    year, as in 12.25-1.3)."""
    if m := _RANGE.search(text):
        start, end = _day(today, *m.group(1, 2, 3)), _day(today, *m.group(4, 5, 6))
        if start and end and end < start and not m.group(4):
            end = _day(today, str(end.year + 1), str(end.month), str(end.day))
        return text[: m.start()] + text[m.end() :], start, end
    if m := _UNTIL.search(text):
        return text[: m.start()] + text[m.end() :], None, _day(today, *m.group(1, 2, 3))
    if m := _ON.search(text):
        day = _day(today, *m.group(1, 2, 3))
        return text[: m.start()] + text[m.end() :], day, day
    return text, None, None


def _scope(text: str, default: Scope) -> Scope:
    if any(word in text for word in _MARKETPLACE):
        return Scope.marketplace
    if any(word in text for word in _ITEM):
        return Scope.item
    if any(word in text for word in _STORE):
        return Scope.store
    return default


def _money(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _rate(number: str) -> Decimal | None:
    """The price multiplier of ``X折``: 8 → 0.8, 8.5 → 0.85, 85 → 0.85 (八五折), 0 → free."""
    value = _money(number)
    if value is None:
        return None
    if value >= 10 and "." not in number and value < 100:
        value /= 10
    return (value / 10).normalize() if value < 10 else None


_FREE_SHIPPING = "(?:包邮|免运费|免配送费|免邮|免运)"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("free_items", re.compile(rf"满(\d+)件{_FREE_SHIPPING}")),
    ("free_amount", re.compile(rf"满{_NUM}元?{_FREE_SHIPPING}")),
    ("free", re.compile(_FREE_SHIPPING)),
    ("per", re.compile(rf"每满{_NUM}元?(?:可)?减{_NUM}元?")),
    ("items_off", re.compile(rf"满(\d+)件(?:减|-){_NUM}元?")),
    ("threshold", re.compile(rf"满{_NUM}元?(?:可用)?(?:减|-){_NUM}元?")),
    ("nth", re.compile(rf"第(\d+)件{_NUM}(折|元)")),
    ("buy_get", re.compile(r"买(\d+)送1(?!\d)")),
    ("multi_rate", re.compile(rf"(?:任选|任意|满)?(\d+)件{_NUM}折")),
    ("multi_price", re.compile(rf"(?:任选|任意|满)?(\d+)件(?:共|仅)?{_NUM}元")),
    ("direct", re.compile(rf"(?:限时直降|直降|下单立减|立减|立省|直减|降价){_NUM}元?")),
    ("discount", re.compile(rf"{_NUM}折")),
    ("percent_off", re.compile(rf"{_NUM}%off", re.IGNORECASE)),
]
_CAP = re.compile(rf"(?:最高|最多|封顶|上限)(?:可)?减?{_NUM}元?")
_COUPON_THRESHOLD = re.compile(rf"(?:满)?{_NUM}元?(?:可用|使用)?(?:减|-){_NUM}元?")
_COUPON_AMOUNT = re.compile(rf"{_NUM}元")
_COUPON_BARE = re.compile(rf"券{_NUM}|{_NUM}券")


def parse_promotion(text: str, *, today: date | None = None) -> list[Rule]:
    """The rules one promotion text states (none when it states nothing bijia understands)."""
    raw = " ".join(str(text).split())
    if not raw or len(raw) > 200:
        return []
    today = today or date.today()  # noqa: DTZ011 (validity dates are the shop's local calendar days)
    t, starts, ends = _dates(normalise(raw), today)
    rules = _coupons(t, raw) if ("券" in t or "红包" in t) else _rules(t, raw)
    return [replace(r, starts=starts, ends=ends) for r in rules if _sane(r)]


def parse_promotions(texts: list[str] | tuple[str, ...], *, today: date | None = None) -> list[Rule]:
    """Every rule of every text, once each."""
    return list(dict.fromkeys(r for text in texts for r in parse_promotion(text, today=today)))


def _rules(t: str, raw: str) -> list[Rule]:
    rules: list[Rule] = []
    for name, pattern in _PATTERNS:
        for m in pattern.finditer(t):
            rule = _RULE_OF[name](m, t, raw)
            if rule is not None:
                rules.append(rule)
        t = pattern.sub("|", t)  # a matched span is used up (8折 inside 2件8折 is not a second rule)
    return rules


def _coupons(t: str, raw: str) -> list[Rule]:
    scope = _scope(t, Scope.store)
    found = [
        Rule(Kind.coupon, scope, raw, threshold=_money(a), amount=_money(b))
        for a, b in _COUPON_THRESHOLD.findall(t)
    ]
    if not found:
        amounts = _COUPON_AMOUNT.findall(t) or [a or b for a, b in _COUPON_BARE.findall(t)]
        found = [Rule(Kind.coupon, scope, raw, threshold=Decimal(0), amount=_money(a)) for a in amounts[:1]]
    return found


def _free(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(Kind.free_shipping, _scope(t, Scope.store), raw, threshold=Decimal(0))


def _free_amount(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(Kind.free_shipping, _scope(t, Scope.store), raw, threshold=_money(m.group(1)))


def _free_items(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(Kind.free_shipping, _scope(t, Scope.store), raw, min_items=int(m.group(1)))


def _per(m: re.Match[str], t: str, raw: str) -> Rule:
    cap = _CAP.search(t)
    return Rule(
        Kind.per_threshold,
        _scope(t, Scope.store),
        raw,
        threshold=_money(m.group(1)),
        amount=_money(m.group(2)),
        cap=_money(cap.group(1)) if cap else None,
    )


def _threshold(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(
        Kind.threshold, _scope(t, Scope.store), raw, threshold=_money(m.group(1)), amount=_money(m.group(2))
    )


def _items_off(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(
        Kind.threshold, _scope(t, Scope.store), raw, min_items=int(m.group(1)), amount=_money(m.group(2))
    )


def _nth(m: re.Match[str], t: str, raw: str) -> Rule:
    nth, value, unit = int(m.group(1)), m.group(2), m.group(3)
    if unit == "元" and _money(value) != 0:
        return Rule(Kind.nth_item, _scope(t, Scope.item), raw, nth=nth, amount=_money(value))
    if unit == "元":
        return Rule(Kind.nth_item, _scope(t, Scope.item), raw, nth=nth, rate=Decimal(0))
    return Rule(Kind.nth_item, _scope(t, Scope.item), raw, nth=nth, rate=_rate(value))


def _buy_get(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(Kind.nth_item, _scope(t, Scope.item), raw, nth=int(m.group(1)) + 1, rate=Decimal(0))


def _multi_rate(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(Kind.multi_buy, _scope(t, Scope.item), raw, min_items=int(m.group(1)), rate=_rate(m.group(2)))


def _multi_price(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(
        Kind.multi_buy, _scope(t, Scope.item), raw, min_items=int(m.group(1)), amount=_money(m.group(2))
    )


def _direct(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(Kind.direct, _scope(t, Scope.item), raw, amount=_money(m.group(1)))


def _discount(m: re.Match[str], t: str, raw: str) -> Rule:
    return Rule(Kind.discount, _scope(t, Scope.item), raw, rate=_rate(m.group(1)))


def _percent_off(m: re.Match[str], t: str, raw: str) -> Rule | None:
    off = _money(m.group(1))
    if off is None or off >= 100:
        return None
    return Rule(Kind.discount, _scope(t, Scope.item), raw, rate=((100 - off) / 100).normalize())


_RULE_OF = {
    "free": _free,
    "free_amount": _free_amount,
    "free_items": _free_items,
    "per": _per,
    "threshold": _threshold,
    "items_off": _items_off,
    "nth": _nth,
    "buy_get": _buy_get,
    "multi_rate": _multi_rate,
    "multi_price": _multi_price,
    "direct": _direct,
    "discount": _discount,
    "percent_off": _percent_off,
}


def _sane(r: Rule) -> bool:
    """Drop what no shop means: 满100减150, 0折, 第1件, 1件8折, a zero reduction."""
    if r.kind in (Kind.threshold, Kind.per_threshold, Kind.coupon, Kind.direct):
        if not r.amount or (r.threshold is not None and r.threshold > 0 and r.amount >= r.threshold):
            return False
        if r.kind is Kind.per_threshold and not r.threshold:
            return False
    if r.kind is Kind.threshold and r.threshold is None and not (r.min_items and r.min_items >= 2):
        return False
    if r.kind is Kind.discount:
        return r.rate is not None and 0 < r.rate < 1
    if r.kind is Kind.nth_item:
        return bool(r.nth and r.nth >= 2) and (
            (r.rate is not None and 0 <= r.rate < 1) or (r.amount is not None and r.rate is None)
        )
    if r.kind is Kind.multi_buy:
        return bool(r.min_items and r.min_items >= 2) and (
            (r.rate is not None and 0 < r.rate < 1) or (r.amount is not None and r.amount > 0)
        )
    return r.kind is not Kind.free_shipping or r.threshold is not None or r.min_items is not None
