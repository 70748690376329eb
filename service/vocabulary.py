"""The search vocabulary: brand aliases (the matcher's table, ``matching.normalise.BRAND_ALIASES``) and
category names in Chinese and English, as ``storage.search.Synonyms`` for the CLI and the API alike."""

from __future__ import annotations

from functools import cache

from matching.normalise import BRAND_ALIASES
from storage.search import Synonyms

CATEGORY_GROUPS: tuple[tuple[str, ...], ...] = (
    ("手机", "phone", "phones", "smartphone", "smartphones", "mobile"),
    ("笔记本", "笔记本电脑", "laptop", "laptops", "notebook", "notebooks"),
    ("平板", "平板电脑", "tablet", "tablets"),
    ("耳机", "headphones", "headphone", "earphones", "earbuds", "headset"),
    ("饮料", "饮品", "drinks", "drink", "beverages"),
    ("食品", "零食", "groceries", "grocery", "food"),
    ("鞋", "运动鞋", "跑步鞋", "shoes", "sneakers"),
    ("家电", "小家电", "appliances", "appliance"),
    ("相机", "camera", "cameras"),
    ("手表", "智能手表", "watch", "watches", "smartwatch"),
    ("音箱", "speaker", "speakers"),
    ("显示器", "monitor", "monitors"),
    ("键盘", "keyboard", "keyboards"),
    ("充电宝", "移动电源", "power bank"),
    ("数据线", "cable", "cables"),
    ("配件", "accessories", "accessory"),
    ("音频", "audio"),
)
"""Category words shops use, in either language; each group is one category."""


@cache
def search_synonyms() -> Synonyms:
    """Every brand alias and category word → all spellings of the same brand or category."""
    groups: dict[str, set[str]] = {}
    for alias, brand in BRAND_ALIASES.items():
        groups.setdefault(brand, {brand}).add(alias)
    table: dict[str, tuple[str, ...]] = {}
    for group in [*groups.values(), *(set(g) for g in CATEGORY_GROUPS)]:
        spellings = tuple(sorted(group))
        for word in spellings:
            table[word] = tuple(sorted({*table.get(word, ()), *spellings}))
    return table
