"""Brands, product families and the combinatorial base-product generator behind the demo catalogue.

A *family* is a brand's product line with a name pattern (``iPhone {n}{s}``), real model numbers and
name suffixes; it yields base products in a fixed order and, for patterns with ``{n}``, keeps going past
the real numbers (``iPhone 18 Pro``…) so that large catalogues never repeat a name. A base product has
variant axes (storage, colour, size…); each combination of axis values is one SKU.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Brand:
    en: str
    zh: str
    forms: tuple[str, ...] = ()
    """Other spellings English shops use (casing, hyphens): ``APPLE``, ``apple``, ``Coca Cola``."""


BRANDS = {
    b.en: b
    for b in [
        Brand("Apple", "苹果", ("APPLE", "apple")),
        Brand("Huawei", "华为", ("HUAWEI", "huawei")),
        Brand("Xiaomi", "小米", ("XIAOMI", "Mi", "xiaomi")),
        Brand("Samsung", "三星", ("SAMSUNG", "samsung")),
        Brand("Honor", "荣耀", ("HONOR", "honor")),
        Brand("Sony", "索尼", ("SONY", "sony")),
        Brand("Lenovo", "联想", ("LENOVO", "lenovo")),
        Brand("Nike", "耐克", ("NIKE", "nike")),
        Brand("Adidas", "阿迪达斯", ("ADIDAS", "adidas", "adidas Originals")),
        Brand("Li-Ning", "李宁", ("LI-NING", "Li Ning", "LiNing")),
        Brand("Anta", "安踏", ("ANTA", "anta")),
        Brand("Coca-Cola", "可口可乐", ("Coca Cola", "COCA-COLA", "coca-cola")),
        Brand("Pepsi", "百事", ("PEPSI", "Pepsi-Cola")),
        Brand("Nestlé", "雀巢", ("Nestle", "NESTLE", "nestlé")),
        Brand("Yili", "伊利", ("YILI", "yili")),
        Brand("Nongfu Spring", "农夫山泉", ("NONGFU SPRING", "Nongfu")),
        Brand("Midea", "美的", ("MIDEA", "midea")),
        Brand("Haier", "海尔", ("HAIER", "haier")),
        Brand("Dyson", "戴森", ("DYSON", "dyson")),
        Brand("Philips", "飞利浦", ("PHILIPS", "philips")),
        Brand("Anker", "安克", ("ANKER", "anker")),
    ]
}

COLOURS_ZH = {
    "Black": "黑色",
    "White": "白色",
    "Blue": "蓝色",
    "Green": "绿色",
    "Pink": "粉色",
    "Purple": "紫色",
    "Silver": "银色",
    "Gold": "金色",
    "Grey": "灰色",
    "Red": "红色",
    "Yellow": "黄色",
    "Beige": "米色",
    "Midnight": "午夜色",
    "Starlight": "星光色",
    "Natural Titanium": "原色钛金属",
    "Orange": "橙色",
    "Navy": "藏青色",
    "Space Grey": "深空灰色",
}

PHONE_COLOURS = ("Black", "White", "Blue", "Green", "Purple", "Silver", "Gold")
AUDIO_COLOURS = ("Black", "White", "Silver", "Blue", "Beige")
SHOE_COLOURS = ("White", "Black", "Grey", "Red", "Navy", "Beige")
HOME_COLOURS = ("White", "Black", "Grey", "Pink")
Options = tuple[tuple[str, tuple], ...]


@dataclass(frozen=True, slots=True)
class Family:
    category: str
    brand: str
    pattern: str
    """English model name; ``{n}`` a model number, ``{s}`` a suffix."""
    numbers: tuple[int, ...]
    suffixes: tuple[str, ...]
    """``"English|中文"`` (the Chinese half optional)."""
    noun_en: str
    noun_zh: str
    options: Options
    price: tuple[int, int]
    """Yuan range of the cheapest variant."""
    step: int = 1
    pattern_zh: str | None = None
    mpn: str = ""
    """Prefix of the manufacturer part numbers (``MB-FB``); empty: derived from the model name."""


def _f(
    category: str,
    brand: str,
    pattern: str,
    numbers: tuple[int, ...],
    suffixes: tuple[str, ...],
    noun: str,
    options: Options,
    price: tuple[int, int],
    step: int = 1,
    zh: str | None = None,
    mpn: str = "",
) -> Family:
    noun_en, noun_zh = noun.split("|")
    return Family(
        category, brand, pattern, numbers, suffixes, noun_en, noun_zh, options, price, step, zh, mpn
    )


PHONE: Options = (("storage", (64, 128, 256, 512, 1024)), ("colour", PHONE_COLOURS))
LAPTOP: Options = (("memory", (8, 16, 32)), ("storage", (256, 512, 1024, 2048)))
AUDIO: Options = (("colour", AUDIO_COLOURS),)
DRINK: Options = (("volume", (330, 500, 1000, 2000)), ("pack", (1, 6, 12, 24)))
SHOE: Options = (("colour", SHOE_COLOURS), ("size", tuple(range(36, 47))))
HOME: Options = (("colour", HOME_COLOURS),)
COFFEE: Options = (("weight", (100, 200, 400, 1000)), ("pack", (1, 2, 3)))
STICKS: Options = (("count", (7, 15, 30, 48, 90)), ("pack", (1, 2)))

FAMILIES: tuple[Family, ...] = (
    _f(
        "phone",
        "Apple",
        "iPhone {n}{s}",
        (13, 14, 15, 16, 17),
        ("", " Plus", " Pro", " Pro Max"),
        "Smartphone|手机",
        PHONE,
        (4999, 7999),
        mpn="M",
    ),
    _f(
        "phone",
        "Samsung",
        "Galaxy S{n}{s}",
        (23, 24, 25),
        ("", "+", " Ultra", " FE"),
        "5G Smartphone|5G手机",
        PHONE,
        (3999, 8999),
        mpn="SM-S9",
    ),
    _f(
        "phone",
        "Samsung",
        "Galaxy A{n}",
        (15, 25, 35, 55, 56),
        ("",),
        "Smartphone|手机",
        PHONE,
        (1299, 2999),
        step=10,
        mpn="SM-A",
    ),
    _f(
        "phone",
        "Huawei",
        "Mate {n}{s}",
        (50, 60, 70),
        ("", " Pro", " Pro+", " RS"),
        "5G Phone|智能手机",
        PHONE,
        (4999, 9999),
        step=10,
    ),
    _f(
        "phone",
        "Huawei",
        "nova {n}{s}",
        (11, 12, 13),
        ("", " Pro", " Ultra"),
        "Smartphone|手机",
        PHONE,
        (2499, 3999),
    ),
    _f(
        "phone",
        "Xiaomi",
        "Xiaomi {n}{s}",
        (13, 14, 15),
        ("", " Pro", " Ultra"),
        "5G Smartphone|5G手机",
        PHONE,
        (3499, 6499),
    ),
    _f(
        "phone",
        "Xiaomi",
        "Redmi Note {n}{s}",
        (12, 13, 14),
        ("", " Pro", " Pro+"),
        "Smartphone|手机",
        PHONE,
        (999, 2199),
    ),
    _f("phone", "Honor", "Magic{n}{s}", (5, 6, 7), ("", " Pro"), "5G Phone|手机", PHONE, (3999, 5999)),
    _f(
        "laptop",
        "Apple",
        "MacBook Air {n}{s}",
        (13, 15),
        (" M2", " M3", " M4"),
        "Laptop|笔记本电脑",
        LAPTOP,
        (7499, 10999),
        step=2,
        mpn="MR",
    ),
    _f(
        "laptop",
        "Apple",
        "MacBook Pro {n}{s}",
        (14, 16),
        (" M3 Pro", " M4", " M4 Pro", " M4 Max"),
        "Laptop|笔记本电脑",
        LAPTOP,
        (12999, 19999),
        step=2,
        mpn="MX",
    ),
    _f(
        "laptop",
        "Lenovo",
        "ThinkPad X1 Carbon Gen {n}",
        (10, 11, 12, 13),
        ("",),
        "Business Laptop|商务笔记本",
        LAPTOP,
        (8999, 13999),
        mpn="21K",
    ),
    _f(
        "laptop",
        "Lenovo",
        "ThinkBook 14 G{n}{s}",
        (5, 6, 7),
        (" IRL", " ABP"),
        "Laptop|轻薄笔记本",
        LAPTOP,
        (3999, 5999),
        mpn="21M",
    ),
    _f(
        "laptop",
        "Lenovo",
        "Xiaoxin Pro {n}{s}",
        (14, 16),
        (" 2024|2024款", " 2025|2025款"),
        "Laptop|轻薄本",
        LAPTOP,
        (4599, 6499),
        step=2,
        zh="小新 Pro {n}{s}",
        mpn="83",
    ),
    _f(
        "laptop",
        "Huawei",
        "MateBook {n}{s}",
        (13, 14, 16),
        ("", "s"),
        "Laptop|笔记本电脑",
        LAPTOP,
        (4999, 7999),
    ),
    _f(
        "laptop",
        "Xiaomi",
        "Redmi Book Pro {n}{s}",
        (14, 16),
        (" 2024|2024款", " 2025|2025款"),
        "Laptop|笔记本电脑",
        LAPTOP,
        (4299, 5999),
        step=2,
    ),
    _f(
        "headphones",
        "Sony",
        "WH-1000XM{n}",
        (4, 5, 6),
        ("",),
        "Wireless Noise Cancelling Headphones|无线降噪耳机",
        AUDIO,
        (1699, 2999),
        mpn="WH-1000XM",
    ),
    _f(
        "headphones",
        "Sony",
        "WF-1000XM{n}",
        (4, 5),
        ("",),
        "Noise Cancelling Earbuds|降噪蓝牙耳机",
        AUDIO,
        (1299, 1999),
        mpn="WF-1000XM",
    ),
    _f(
        "headphones",
        "Sony",
        "WH-CH{n}N",
        (520, 720),
        ("",),
        "Wireless Headphones|头戴式蓝牙耳机",
        AUDIO,
        (399, 799),
        step=100,
        mpn="WH-CH",
    ),
    _f(
        "headphones",
        "Apple",
        "AirPods Pro {n}",
        (2, 3),
        ("",),
        "Wireless Earbuds|无线耳机",
        (("colour", ("White",)),),
        (1799, 1999),
        mpn="MTJV",
    ),
    _f(
        "headphones",
        "Huawei",
        "FreeBuds Pro {n}",
        (3, 4),
        ("",),
        "Wireless Earbuds|真无线降噪耳机",
        AUDIO,
        (999, 1499),
    ),
    _f(
        "headphones",
        "Xiaomi",
        "Redmi Buds {n}{s}",
        (5, 6),
        ("", " Pro"),
        "Earbuds|蓝牙耳机",
        AUDIO,
        (149, 399),
    ),
    _f(
        "headphones",
        "Anker",
        "Soundcore Liberty {n}{s}",
        (4, 5),
        ("", " NC", " Pro"),
        "Earbuds|降噪耳机",
        AUDIO,
        (399, 999),
        mpn="A39",
    ),
    _f(
        "headphones",
        "Philips",
        "TAT{n}",
        (1209, 2206, 3508, 4506),
        ("",),
        "Earbuds|蓝牙耳机",
        AUDIO,
        (199, 599),
        step=11,
        mpn="TAT",
    ),
    _f(
        "drinks",
        "Coca-Cola",
        "{s}",
        (0,),
        (
            "Coca-Cola Original|可口可乐 经典原味",
            "Coca-Cola Zero Sugar|可口可乐 零度",
            "Sprite|雪碧",
            "Fanta Orange|芬达 橙味",
        ),
        "Soft Drink|碳酸饮料",
        DRINK,
        (3, 5),
    ),
    _f(
        "drinks",
        "Pepsi",
        "{s}",
        (0,),
        ("Pepsi Cola|百事可乐", "Pepsi No Sugar|百事 无糖可乐", "7UP|七喜"),
        "Soft Drink|汽水",
        DRINK,
        (3, 5),
    ),
    _f(
        "drinks",
        "Nongfu Spring",
        "{s}",
        (0,),
        (
            "Natural Water|饮用天然水",
            "Oriental Leaf Jasmine Tea|东方树叶 茉莉花茶",
            "NFC Orange Juice|NFC橙汁",
        ),
        "Drink|饮料",
        DRINK,
        (2, 6),
    ),
    _f(
        "drinks",
        "Yili",
        "{s}",
        (0,),
        ("Pure Milk|纯牛奶", "Anmuxi Greek Yogurt|安慕希 希腊酸奶"),
        "Dairy|乳品",
        (("volume", (200, 250, 1000)), ("pack", (1, 12, 24))),
        (3, 6),
    ),
    _f(
        "groceries",
        "Nestlé",
        "Nescafé {s}",
        (0,),
        ("Gold Blend|金牌 冻干咖啡", "Classic|醇品 黑咖啡"),
        "Instant Coffee|速溶咖啡",
        COFFEE,
        (49, 99),
        zh="雀巢咖啡 {s}",
    ),
    _f(
        "groceries",
        "Nestlé",
        "Nescafé 1+2 {s}",
        (0,),
        ("Original|原味", "Extra Creamy|奶香", "Latte|拿铁"),
        "Coffee Sticks|速溶咖啡",
        STICKS,
        (29, 49),
        zh="雀巢咖啡 1+2 {s}",
    ),
    _f(
        "groceries",
        "Nestlé",
        "Milo {s}",
        (0,),
        ("Chocolate Malt|巧克力麦芽", "Less Sugar|低糖"),
        "Malt Drink Powder|麦芽饮品",
        COFFEE,
        (39, 69),
        zh="美禄 {s}",
    ),
    _f(
        "shoes",
        "Nike",
        "Air Max {n}",
        (90, 97, 270, 2090),
        ("",),
        "Sneakers|运动鞋",
        SHOE,
        (799, 1299),
        step=3,
        mpn="DH",
    ),
    _f(
        "shoes",
        "Nike",
        "Pegasus {n}",
        (39, 40, 41),
        ("",),
        "Running Shoes|跑步鞋",
        SHOE,
        (699, 999),
        mpn="FD",
    ),
    _f(
        "shoes",
        "Nike",
        "Air Force 1 '07{s}",
        (0,),
        ("", " LV8", " Premium"),
        "Sneakers|板鞋",
        SHOE,
        (749, 999),
        mpn="CW",
    ),
    _f(
        "shoes",
        "Adidas",
        "Ultraboost {n}",
        (22, 23, 24, 25),
        ("",),
        "Running Shoes|跑步鞋",
        SHOE,
        (1099, 1499),
        mpn="IF",
    ),
    _f(
        "shoes",
        "Adidas",
        "Adizero Adios Pro {n}",
        (2, 3, 4),
        ("",),
        "Racing Shoes|竞速跑鞋",
        SHOE,
        (1399, 1799),
        mpn="IG",
    ),
    _f(
        "shoes",
        "Adidas",
        "Samba {s}",
        (0,),
        ("OG", "XLG", "Decon"),
        "Sneakers|板鞋",
        SHOE,
        (799, 999),
        mpn="B7",
    ),
    _f(
        "shoes",
        "Li-Ning",
        "Way of Wade {n}",
        (10, 11, 12),
        ("",),
        "Basketball Shoes|篮球鞋",
        SHOE,
        (999, 1599),
        zh="韦德之道 {n}",
        mpn="ABAT",
    ),
    _f(
        "shoes", "Anta", "KT{n}", (8, 9, 10), ("",), "Basketball Shoes|篮球鞋", SHOE, (699, 1099), mpn="11241"
    ),
    _f(
        "appliance",
        "Dyson",
        "V{n}{s}",
        (8, 10, 12, 15),
        (" Slim", " Detect", " Absolute"),
        "Cordless Vacuum Cleaner|无线吸尘器",
        (("colour", ("Gold", "Blue", "Purple")),),
        (2490, 5490),
        mpn="SV",
    ),
    _f(
        "appliance",
        "Dyson",
        "Supersonic HD{n}",
        (8, 15, 16),
        ("",),
        "Hair Dryer|吹风机",
        (("colour", ("Pink", "Blue", "Black")),),
        (2299, 3299),
        mpn="HD",
    ),
    _f(
        "appliance",
        "Midea",
        "MB-FB{n}{s}",
        (30, 40, 50),
        ("E", "S", "Q"),
        "Rice Cooker|电饭煲",
        HOME,
        (199, 459),
        step=10,
        mpn="MB-FB",
    ),
    _f(
        "appliance",
        "Midea",
        "MK-SH{n}",
        (15, 17),
        ("",),
        "Electric Kettle|电热水壶",
        HOME,
        (79, 159),
        mpn="MK-SH",
    ),
    _f(
        "appliance",
        "Haier",
        "HKT-{n}",
        (1701, 1802, 2201),
        ("",),
        "Electric Kettle|电热水壶",
        HOME,
        (89, 199),
        step=101,
        mpn="HKT-",
    ),
    _f(
        "appliance",
        "Philips",
        "HX{n}",
        (2431, 3226, 6730, 6857, 9911),
        ("",),
        "Electric Toothbrush|电动牙刷",
        HOME,
        (199, 1299),
        step=7,
        mpn="HX",
    ),
    _f(
        "appliance",
        "Philips",
        "HD{n}",
        (9252, 9257, 9270),
        ("",),
        "Air Fryer|空气炸锅",
        HOME,
        (399, 899),
        mpn="HD",
    ),
    _f(
        "appliance",
        "Anker",
        "PowerCore {n}",
        (10000, 20000, 26800),
        ("",),
        "Power Bank|充电宝",
        HOME,
        (129, 299),
        step=5000,
        mpn="A12",
    ),
    _f(
        "appliance",
        "Anker",
        "Nano Charger {n}W",
        (20, 30, 45, 65),
        ("",),
        "USB-C Charger|氮化镓充电器",
        HOME,
        (69, 199),
        step=5,
        mpn="A26",
    ),
)

CATEGORY_WEIGHTS = {
    "phone": 24,
    "laptop": 12,
    "headphones": 15,
    "drinks": 12,
    "groceries": 7,
    "shoes": 16,
    "appliance": 14,
}
AXIS_PICKS = {
    "storage": (1, 3),
    "memory": (1, 2),
    "colour": (1, 3),
    "volume": (1, 2),
    "pack": (1, 2),
    "size": (3, 5),
    "weight": (1, 2),
    "count": (1, 2),
}
CONTIGUOUS = {"storage", "memory", "size"}


@dataclass(frozen=True, slots=True)
class Product:
    """A base product; its SKUs are ``variants`` (tuples of ``(axis, value)``)."""

    index: int
    family: Family
    model_en: str
    model_zh: str
    number: int
    base_cents: int
    variants: tuple[tuple[tuple[str, object], ...], ...]

    @property
    def brand(self) -> Brand:
        return BRANDS[self.family.brand]


def _family_names(family: Family) -> Iterator[tuple[str, str, int]]:
    """(English model, Chinese model, number) in order; endless when the pattern has ``{n}``."""
    numbers: Iterator[int] = iter(family.numbers)
    if "{n}" in family.pattern:
        last = family.numbers[-1]
        numbers = itertools.chain(numbers, (last + family.step * k for k in itertools.count(1)))
    for n in numbers:
        for suffix in family.suffixes:
            s_en, _, s_zh = suffix.partition("|")
            en = family.pattern.format(n=n, s=s_en)
            zh = (family.pattern_zh or family.pattern).format(n=n, s=s_zh or s_en)
            yield en, zh, n


def _pick(rng: random.Random, axis: str, pool: tuple) -> tuple:
    low, high = AXIS_PICKS[axis]
    k = min(len(pool), rng.randint(low, high))
    if axis in CONTIGUOUS:
        start = rng.randint(0, len(pool) - k) if axis != "size" else rng.randint(2, len(pool) - k)
        return pool[start : start + k]
    return tuple(sorted(rng.sample(pool, k), key=pool.index))


def _variants(rng: random.Random, family: Family) -> tuple[tuple[tuple[str, object], ...], ...]:
    if family.category == "appliance" and rng.random() < 0.45:
        return ((),)
    axes = [(axis, _pick(rng, axis, pool)) for axis, pool in family.options]
    combos = itertools.product(*[[(axis, v) for v in values] for axis, values in axes])
    return tuple(tuple(c) for c in combos)


def iter_products(seed: int) -> Iterator[Product]:
    """Base products in a fixed, seeded order (same seed → same sequence, whatever the size asked)."""
    rng = random.Random(seed)
    by_category: dict[str, list[tuple[Family, Iterator[tuple[str, str, int]]]]] = {}
    for family in FAMILIES:
        by_category.setdefault(family.category, []).append((family, _family_names(family)))
    index = 0
    while True:
        categories = [c for c in CATEGORY_WEIGHTS if by_category.get(c)]
        category = rng.choices(categories, weights=[CATEGORY_WEIGHTS[c] for c in categories])[0]
        lines = by_category[category]
        slot = rng.randrange(len(lines))
        family, names = lines[slot]
        name = next(names, None)
        if name is None:
            del lines[slot]
            continue
        low, high = family.price
        base = rng.randint(low, high)
        if base >= 100:
            base = base // 10 * 10 + 9
        yield Product(index, family, name[0], name[1], name[2], base * 100, _variants(rng, family))
        index += 1
