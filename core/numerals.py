"""Chinese numerals as numbers (三十 → 30, 十五 → 15, 二百 → 200, 两 → 2): one table for every parser."""

from __future__ import annotations

CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUMERAL = "[" + "".join(CN_DIGITS) + "".join(CN_UNITS) + "]+"
"""Regular-expression text for a run of Chinese numeral characters."""


def has_unit(text: str) -> bool:
    """True when the numeral has a 十/百/千 in it (十五), false for bare digits (八五, 一两)."""
    return any(c in CN_UNITS for c in text)


def cn_to_int(text: str) -> int:
    """十五 → 15, 三十 → 30, 二百零五 → 205, 一百五 → 150 (a last digit right after 百/千 counts the
    next lower unit); bare digits read in place: 八五 → 85 (as in 八五折)."""
    if not has_unit(text):
        return int("".join(str(CN_DIGITS[c]) for c in text))
    total, digit = 0, 0
    for c in text:
        if c in CN_UNITS:
            total += (digit or 1) * CN_UNITS[c]
            digit = 0
        else:
            digit = CN_DIGITS[c]
    if digit and len(text) >= 2 and CN_UNITS.get(text[-2], 0) >= 100:
        return total + digit * CN_UNITS[text[-2]] // 10
    return total + digit
