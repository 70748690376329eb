"""Stage 1 — normalise a title so two shops' spellings of one product read alike.

NFKC (full-width → half-width), case folding, brand aliases across languages (苹果 → apple), colour words
to one canonical English set (黑色 → black), marketing stop-words removed (【官方旗舰店】, 正品, 包邮,
official, genuine, new), units made canonical (256G → 256gb, 1L → 1000ml, 1kg → 1000g), glued models
split at letter/digit boundaries (iPhone15Pro → iphone 15 pro) and Chinese runs segmented (jieba words or
character bigrams), so unspaced Chinese text is not one token.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .patterns import WORD, first_char_alternation

BRAND_ALIASES: dict[str, str] = {
    "苹果": "apple",
    "华为": "huawei",
    "小米": "xiaomi",
    "三星": "samsung",
    "索尼": "sony",
    "荣耀": "honor",
    "一加": "oneplus",
    "魅族": "meizu",
    "联想": "lenovo",
    "戴尔": "dell",
    "惠普": "hp",
    "华硕": "asus",
    "宏碁": "acer",
    "微软": "microsoft",
    "谷歌": "google",
    "佳能": "canon",
    "尼康": "nikon",
    "富士": "fujifilm",
    "松下": "panasonic",
    "飞利浦": "philips",
    "海尔": "haier",
    "美的": "midea",
    "格力": "gree",
    "海信": "hisense",
    "创维": "skyworth",
    "博世": "bosch",
    "西门子": "siemens",
    "戴森": "dyson",
    "罗技": "logitech",
    "雷蛇": "razer",
    "任天堂": "nintendo",
    "大疆": "dji",
    "漫步者": "edifier",
    "铁三角": "audio-technica",
    "森海塞尔": "sennheiser",
    "耐克": "nike",
    "阿迪达斯": "adidas",
    "彪马": "puma",
    "新百伦": "new balance",
    "安德玛": "under armour",
    "茵宝": "umbro",
    "李宁": "li-ning",
    "安踏": "anta",
    "特步": "xtep",
    "匡威": "converse",
    "万斯": "vans",
    "斯凯奇": "skechers",
    "可口可乐": "coca-cola",
    "百事": "pepsi",
    "雀巢": "nestle",
    "农夫山泉": "nongfu spring",
    "怡宝": "c'estbon",
    "伊利": "yili",
    "蒙牛": "mengniu",
    "宝洁": "procter & gamble",
    "欧莱雅": "l'oreal",
    "兰蔻": "lancome",
    "雅诗兰黛": "estee lauder",
    "资生堂": "shiseido",
    "乐高": "lego",
    "东芝": "toshiba",
    "闪迪": "sandisk",
    "金士顿": "kingston",
    "希捷": "seagate",
    "西部数据": "western digital",
    "英特尔": "intel",
    "超威": "amd",
    "英伟达": "nvidia",
    "安克": "anker",
    "coca cola": "coca-cola",
    "pepsi-cola": "pepsi",
    "nestlé": "nestle",
    "mi": "xiaomi",
    "li ning": "li-ning",
    "lining": "li-ning",
    "adidas originals": "adidas",
    "nongfu": "nongfu spring",
    "hewlett packard": "hp",
    "hewlett-packard": "hp",
    "wd": "western digital",
}
"""Alias (lower case) → canonical brand. Chinese names and common English spellings."""

COLOURS: dict[str, str] = {
    "黑色": "black",
    "曜石黑": "black",
    "亮黑色": "black",
    "白色": "white",
    "银色": "silver",
    "金色": "gold",
    "香槟金": "gold",
    "蓝色": "blue",
    "深蓝色": "blue",
    "红色": "red",
    "绿色": "green",
    "粉色": "pink",
    "粉红色": "pink",
    "紫色": "purple",
    "灰色": "gray",
    "黄色": "yellow",
    "橙色": "orange",
    "棕色": "brown",
    "咖啡色": "brown",
    "卡其色": "khaki",
    "米色": "beige",
    "藏青色": "navy",
    "藏青": "navy",
    "午夜色": "midnight",
    "星光色": "starlight",
    "深空灰色": "space gray",
    "深空灰": "space gray",
    "原色钛金属": "natural titanium",
    "钛金属": "titanium",
    "black": "black",
    "white": "white",
    "silver": "silver",
    "gold": "gold",
    "blue": "blue",
    "navy": "navy",
    "red": "red",
    "green": "green",
    "pink": "pink",
    "rose": "pink",
    "purple": "purple",
    "violet": "purple",
    "grey": "gray",
    "gray": "gray",
    "graphite": "graphite",
    "space gray": "space gray",
    "space grey": "space gray",
    "yellow": "yellow",
    "orange": "orange",
    "brown": "brown",
    "khaki": "khaki",
    "beige": "beige",
    "titanium": "titanium",
    "natural titanium": "natural titanium",
    "midnight": "midnight",
    "starlight": "starlight",
}
"""Colour word (any language) → canonical colour."""

STOP_WORDS: tuple[str, ...] = (
    "官方旗舰店",
    "旗舰店",
    "官方正品",
    "正品保证",
    "正品",
    "官方",
    "包邮",
    "顺丰",
    "现货速发",
    "现货",
    "全国联保",
    "新款",
    "热卖",
    "特价",
    "限时",
    "促销",
    "国行",
    "全新",
    "自营",
    "专卖店",
)
LATIN_STOP_WORDS: frozenset[str] = frozenset(
    {
        "official",
        "genuine",
        "new",
        "brand",
        "authentic",
        "original",
        "store",
        "sale",
        "hot",
        "free",
        "shipping",
        "the",
        "with",
        "and",
        "for",
        "in",
        "of",
        "w",
        "by",
    }
)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_CJK_SPLIT = re.compile(f"([{_CJK}]+)")
_BRACKETED_MARKETING = re.compile(r"【[^】\x00]*】|\[[^\]\x00]*(?:official|store|sale)[^\]\x00]*\]", re.I)
# Units: storage with an upper-case G/T written without B is gigabytes/terabytes (Chinese shops write
# 256G); lower-case g is grams.
_STORAGE = re.compile(
    r"(\d(?<![a-z0-9.]\d)\d*+(?:\.\d++)?+)\s*+(TB|T|GB|G|MB|(?:tera|giga|mega)bytes?)(?![a-zA-Z0-9])", re.I
)
"""A number not glued to a letter, digit or point (the lookbehind is after its first digit so the regex
engine skips to digits: :mod:`matching.patterns`) and a storage unit."""
_VOLUME = re.compile(
    r"(\d(?<![a-z0-9.]\d)\d*+(?:\.\d++)?+)\s*+(ml|毫升|l|升|litre|liter|litres|liters|fl\.? ?oz)(?![a-z])",
    re.I,
)
_WEIGHT = re.compile(
    r"(\d(?<![a-z0-9.]\d)\d*+(?:\.\d++)?+)\s*+(kilograms?|kg|千克|公斤|grams?|g|克|pounds?|lbs?|ounces?|oz)(?![a-z])",
    re.I,
)
_PLUS = re.compile(r"\+(?<=[0-9A-Za-z]\+)(?![0-9A-Za-z])")
_SPLIT_ALNUM = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
_CAMEL = re.compile(r"(?<=[a-z]{2})(?=[A-Z])")
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=\d)")
_NON_WORD = re.compile(rf"[^0-9a-z{_CJK}.+]+")
_UNIT_TOKEN = re.compile(r"^\d+(?:\.\d+)?(?:gb|tb|mb|ml|g|mah|w|mm|cm|m|inch|hz|mp|k|p|v|pcs|pack|x)$")

_TITLE_ALIASES = {
    k: v
    for k, v in {**BRAND_ALIASES, **COLOURS}.items()
    if not k.isascii() or (" " in k or "-" in k or "é" in k)
}
_ALIASES_BY_LEN = sorted(_TITLE_ALIASES.items(), key=lambda kv: -len(kv[0]))
_ALIAS_MAP = dict(_ALIASES_BY_LEN)


def _alias_alternatives(latin_first: bool | None) -> list[tuple[str, str, str]]:
    """Aliases as :func:`matching.patterns.first_char_alternation` alternatives, longest first: whole words
    (``\\b…\\b``) when all ASCII. ``latin_first``: only those starting (or not) with an ASCII letter."""
    return [
        (k[0], WORD if k.isascii() else "", re.escape(k[1:]) + (r"\b" if k.isascii() else ""))
        for k, _ in _ALIASES_BY_LEN
        if latin_first is None or k[0].isascii() == latin_first
    ]


_ALIAS_RE = re.compile(first_char_alternation(_alias_alternatives(None)))
_ALIAS_LATIN_RE = re.compile(first_char_alternation(_alias_alternatives(True)))
_ALIAS_CJK_RE = re.compile(first_char_alternation(_alias_alternatives(False)))
"""``_ALIAS_RE`` in two passes: aliases starting with a Latin letter, then the others. The same result:
the two kinds never overlap in a text."""


def _alias(m: re.Match[str]) -> str:
    return f" {_ALIAS_MAP[m.group(0)]} "


def aliases(text: str) -> str:
    """Brand and colour aliases in a lower-cased text replaced by their canonical spelling."""
    text = _ALIAS_LATIN_RE.sub(_alias, text)
    return _ALIAS_CJK_RE.sub(_alias, text) if not text.isascii() else text


_STOP_RE = re.compile("|".join(re.escape(w) for w in sorted(STOP_WORDS, key=len, reverse=True)))


def fold(text: str) -> str:
    """NFKC (full-width → half-width), Latin accents dropped, whitespace collapsed (a NUL is a space: the bulk
    passes of ``matching.bulk`` join texts with it). Case is kept (units)."""
    text = unicodedata.normalize("NFKC", (text or "").replace("\x00", " "))
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


def _num(value: str) -> str:
    number = float(value)
    return str(int(number)) if number == int(number) else f"{number:g}"


def _storage(m: re.Match[str]) -> str:
    unit = m.group(2).upper()
    if unit == "G" and (m.group(2) == "g" or m.group(1) in ("2", "3", "4", "5")):
        return m.group(0)  # lower-case g: grams (weight rule); 4G/5G: a network, not storage
    if unit == "T" and float(m.group(1)) > 64:
        return m.group(0)  # '7274t' is a model code, not 7274 TB
    unit = {"T": "TB", "G": "GB"}.get(unit, unit if len(unit) <= 2 else unit[0] + "B")  # TERABYTES → TB
    return f" {_num(m.group(1))}{unit.lower()} "


def _volume(m: re.Match[str]) -> str:
    unit = m.group(2).lower().replace(".", "").replace(" ", "")
    factor = {
        "l": 1000,
        "升": 1000,
        "litre": 1000,
        "liter": 1000,
        "litres": 1000,
        "liters": 1000,
        "floz": 29.5735,
    }.get(unit, 1)
    return f" {_num(str(round(float(m.group(1)) * factor, 1)))}ml "


def _weight(m: re.Match[str]) -> str:
    unit = m.group(2).lower().removesuffix("s")
    factor = {
        "kg": 1000,
        "kilogram": 1000,
        "千克": 1000,
        "公斤": 1000,
        "lb": 453.592,
        "pound": 453.592,
        "oz": 28.3495,
        "ounce": 28.3495,
    }.get(unit, 1)
    return f" {_num(str(round(float(m.group(1)) * factor, 1)))}g "


def canonical_units(text: str) -> str:
    """``256G`` → ``256gb``, ``1L`` → ``1000ml``, ``1kg`` → ``1000g`` (expects folded, case-kept text)."""
    text = _STORAGE.sub(_storage, text)
    text = _VOLUME.sub(_volume, text)
    return _WEIGHT.sub(_weight, text)


def canonical_brand(brand: str | None) -> str | None:
    """One spelling per brand across languages: ``苹果`` / ``Apple Inc`` → ``apple``."""
    if not brand:
        return None
    text = fold(brand).lower()
    text = re.sub(r"\b(inc|corp|corporation|co|ltd|gmbh|llc|electronics)\b\.?", " ", text)
    text = " ".join(text.replace("®", " ").replace("™", " ").split())
    if text in BRAND_ALIASES:
        return BRAND_ALIASES[text]
    for part in re.split(r"\s*/\s*", text):  # 'Under Armour/安德玛', '茵宝/ Umbro'
        if part in BRAND_ALIASES:
            return BRAND_ALIASES[part]
    first = re.split(r"\s*/\s*", text)[0].strip()
    return first or None


@lru_cache(maxsize=1)
def _jieba():  # imported lazily: loading the dictionary takes a second
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def segment_cjk(run: str, mode: str) -> list[str]:
    """Split an unspaced Chinese run into words (``jieba``) or character bigrams (``bigram``)."""
    if len(run) <= 1:
        return [run]
    if mode == "jieba":
        return [w for w in _jieba().lcut(run) if w.strip()]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def strip_marketing(text: str) -> str:
    text = _BRACKETED_MARKETING.sub(" ", text)
    return _STOP_RE.sub(" ", text)


def normalise_title(title: str, cjk: str = "bigram") -> str:
    """The canonical, space-separated token string every scorer compares."""
    text = strip_marketing(fold(title))
    text = _CAMEL.sub(" ", text)  # iPhoneProMax → iPhone Pro Max ('iPhone' itself kept)
    text = _LETTER_DIGIT.sub(" ", text)  # iPhone15Pro256G → iPhone 15Pro 256G, so the unit is read
    text = _PLUS.sub(" plus", text)  # Galaxy S24+ → galaxy s24 plus
    text = canonical_units(text)
    text = text.lower()
    tokens = tokens_of(aliases(text), cjk)
    again = canonical_units(" ".join(tokens)).split()
    if again != tokens:  # tokenising dropped punctuation between a number and its unit ('0:L' → '0 l')
        tokens = tokens_of(" ".join(again), cjk)
    return " ".join(tokens)


def tokens_of(text: str, cjk: str = "bigram") -> list[str]:
    """Tokens of lower-cased, unit-canonical text: glued letters/digits split, Chinese segmented."""
    out: list[str] = []
    for raw in _NON_WORD.sub(" ", text.replace("'", "")).split():
        raw = raw.strip(".+")
        if not raw:
            continue
        for piece in _CJK_SPLIT.split(raw):
            if not piece:
                continue
            if _CJK_RUN.fullmatch(piece):
                out.extend(segment_cjk(piece, cjk))
            else:
                out.extend(_latin_tokens(piece))
    return [t for t in out if t not in LATIN_STOP_WORDS]


def _latin_tokens(piece: str) -> list[str]:
    piece = piece.strip(".+")
    if not piece:
        return []
    if _UNIT_TOKEN.match(piece):
        return [piece]
    return [p.strip(".") for p in _SPLIT_ALNUM.split(piece) if p.strip(".")]
