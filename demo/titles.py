"""How each demo shop titles the same SKU: language, word order, brand form, unit spelling, marketing words.

``sku`` arguments are :class:`demo.catalogue.Sku`; ``d`` is a :class:`demo.rand.Draw` for the listing, so a
listing's title is fixed by the seed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from demo.products import COLOURS_ZH
from demo.rand import Draw

if TYPE_CHECKING:
    from demo.catalogue import Sku

PACK_UNIT_ZH = {"volume": "瓶", "weight": "罐", "count": "盒"}


def storage(gb: int, style: str) -> str:
    """``style``: ``GB`` → 256GB, ``GB_`` → 256 GB, ``G`` → 256G."""
    number, unit = (gb // 1024, "T") if gb >= 1024 and gb % 1024 == 0 else (gb, "G")
    if style == "G":
        return f"{number}{unit}"
    return f"{number} {unit}B" if style == "GB_" else f"{number}{unit}B"


def amount(axis: str, value: int, style: str) -> str:
    """Volume/weight/count: ``style`` ``short`` → 1L / 1kg, ``base`` → 1000ml / 1000g, ``spaced`` → 1 L."""
    if axis == "count":
        return f"{value}条" if style == "zh" else f"{value} Sticks"
    small, big = ("ml", "L") if axis == "volume" else ("g", "kg")
    if style == "upper":
        small, big = small.upper(), big.upper()
    gap = " " if style == "spaced" else ""
    if style != "base" and value >= 1000 and value % 500 == 0:
        return f"{value / 1000:g}{gap}{big}"
    return f"{value}{gap}{'mL' if style == 'spaced' and axis == 'volume' else small}"


def quantity(values: dict, style: str, pack_style: str) -> str:
    axis = next((a for a in ("volume", "weight", "count") if a in values), None)
    if axis is None:
        return ""
    unit = amount(axis, values[axis], style)
    pack = values.get("pack", 1)
    if pack == 1:
        return unit
    formats = {
        "x": "{n} x {u}",
        "rx": "{u} x {n}",
        "of": "{u}, Pack of {n}",
        "dash": "{n}-Pack {u}",
        "zh": "{u}×{n}" + PACK_UNIT_ZH[axis],
        "star": "{u}*{n}",
        "zhpre": "{u} {n}" + PACK_UNIT_ZH[axis] + "装",
    }
    return formats[pack_style].format(n=pack, u=unit)


def size(value: int, style: str) -> str:
    return {"eu": f"EU {value}", "size": f"Size {value}", "bare": str(value), "zh": f"{value}码"}[style]


def spec(sku: Sku, d: Draw, *, zh: bool) -> str:
    """The variant words other than colour: storage/memory, quantity, size."""
    v = sku.values
    parts = []
    unit = d.choice(("G", "G", "GB")) if zh else d.choice(("GB", "GB_", "G"))
    if "memory" in v:
        mem, rom = storage(v["memory"], unit), storage(v["storage"], unit)
        parts.append(
            f"{mem}+{rom}" if zh else d.choice((f"{mem} RAM {rom} SSD", f"{mem}/{rom}", f"{mem}+{rom}"))
        )
    elif "storage" in v:
        parts.append(storage(v["storage"], unit))
    pack_style = d.choice(("zh", "star", "zhpre")) if zh else d.choice(("x", "rx", "of", "dash"))
    parts.append(
        quantity(
            v, "zh" if zh and "count" in v else d.choice(("short", "base", "spaced", "upper")), pack_style
        )
    )
    if "size" in v:
        parts.append(size(v["size"], "zh" if zh else d.choice(("eu", "size", "bare"))))
    return " ".join(p for p in parts if p)


def colour(sku: Sku, *, zh: bool) -> str:
    name = sku.values.get("colour", "")
    return COLOURS_ZH.get(name, name) if zh else name


def _glue(model: str) -> str:
    """``iPhone 15 Pro`` → ``iPhone15Pro``, ``WH-1000XM5`` → ``WH1000XM5``."""
    return re.sub(r"[\s-]+", "", model)


def _brand_en(sku: Sku, d: Draw) -> str:
    brand = sku.product.brand
    return brand.en if d.chance(0.5) or not brand.forms else d.choice(brand.forms)


def _with_brand(brand: str, model: str) -> str:
    return model if model.lower().startswith(brand.lower()) else f"{brand} {model}"


def _join(*words: str) -> str:
    return " ".join(w for w in words if w)


def techmall(sku: Sku, d: Draw) -> str:
    p = sku.product
    head, sp, col = _with_brand(p.brand.en, p.model_en), spec(sku, d, zh=False), colour(sku, zh=False)
    return d.choice(
        (
            _join(head, sp, col),
            _join(head, p.family.noun_en, sp, f"({col})" if col else ""),
            _join(head, sp, col, "- Official"),
            _join(head, col, sp, p.family.noun_en),
        )
    )


def shopline_product(sku: Sku, d: Draw) -> str:
    """Shopify product title (one per base product; the variant title comes from the options)."""
    p = sku.product
    model = _glue(p.model_en) if d.chance(0.35) else p.model_en
    brand = _brand_en(sku, d)
    return d.choice(
        (
            _join(_with_brand(brand, model), p.family.noun_en),
            _join("2024 New", _with_brand(brand, model), p.family.noun_en),
            _join(model, p.family.noun_en, "by", brand),
            _join(brand.upper(), model, "| Genuine"),
        )
    )


def shopline_option(axis: str, value: object) -> str:
    if axis in ("storage", "memory"):
        return storage(int(value), "GB_")
    if axis in ("volume", "weight", "count"):
        return amount(axis, int(value), "spaced")
    if axis == "pack":
        return "Single" if value == 1 else f"{value} Pack"
    if axis == "size":
        return f"EU {value}"
    return str(value)


def woomart(sku: Sku, d: Draw) -> str:
    p = sku.product
    model = _glue(p.model_en) if d.chance(0.15) else p.model_en
    brand, sp, col = _brand_en(sku, d), spec(sku, d, zh=False), colour(sku, zh=False)
    market = d.choice(("Genuine", "Official", "Brand New", ""))
    return d.choice(
        (
            _join(market, col, model, sp, "-", brand.lower()),
            _join(model, sp, col, "|", brand),
            _join(market, _with_brand(brand, model), p.family.noun_en, col, sp),
        )
    )


def jingxuan(sku: Sku, d: Draw) -> str:
    p = sku.product
    brand = p.brand
    zh_brand = d.choice((brand.zh, f"{brand.en}/{brand.zh}", f"{brand.zh}（{brand.en}）"))
    head = _with_brand(zh_brand, p.model_zh) if not p.model_zh.startswith(brand.zh) else p.model_zh
    sp, col = spec(sku, d, zh=True), colour(sku, zh=True)
    noun = p.family.noun_zh
    return d.choice(
        (
            _join("【官方旗舰店】", head, noun, sp, col, "正品"),
            _join(head, sp, col, noun, "包邮"),
            _join("【自营】", head, col, sp, noun),
            _join(head, noun, sp, col, "正品行货 官方标配"),
        )
    )


def shandian(sku: Sku, d: Draw) -> str:
    p = sku.product
    brand = p.brand.zh
    head = p.model_zh if p.model_zh.startswith(brand) else brand + p.model_zh
    v = sku.values
    unit = "GB" if d.chance(0.6) else "G"
    sp = (
        spec(sku, d, zh=True)
        if "storage" not in v
        else _join(
            storage(v["memory"], unit) + "+" if "memory" in v else "", storage(v["storage"], unit)
        ).replace("+ ", "+")
    )
    if "volume" in v:
        sp = quantity(v, "base", d.choice(("zh", "star")))
    return _join(head, sp, colour(sku, zh=True))


def spec_text(sku: Sku) -> str:
    """The shandian ``spec`` field: a plain variant description (``500ml×12``, ``256GB 黑色``)."""
    v = sku.values
    parts = []
    if "memory" in v:
        parts.append(f"{storage(v['memory'], 'GB')}+{storage(v['storage'], 'GB')}")
    elif "storage" in v:
        parts.append(storage(v["storage"], "GB"))
    parts.append(quantity(v, "base", "zh"))
    if "size" in v:
        parts.append(size(v["size"], "zh"))
    parts.append(colour(sku, zh=True))
    return " ".join(p for p in parts if p) or "标准装"


def nextmall(sku: Sku, d: Draw) -> str:
    """A headless storefront's English titles."""
    p = sku.product
    head, sp, col = _with_brand(_brand_en(sku, d), p.model_en), spec(sku, d, zh=False), colour(sku, zh=False)
    return d.choice(
        (
            " · ".join(w for w in (head, sp, col) if w),
            _join(head, p.family.noun_en, "—" if col or sp else "", col, sp),
            _join("New", head, sp, f"[{col}]" if col else ""),
        )
    )


def tanhuo(sku: Sku, d: Draw) -> str:
    """A rendered Chinese marketplace's titles."""
    p = sku.product
    head = p.model_zh if p.model_zh.startswith(p.brand.zh) else f"{p.brand.zh} {p.model_zh}"
    sp, col, noun = spec(sku, d, zh=True), colour(sku, zh=True), p.family.noun_zh
    return d.choice(
        (
            _join("【探货优选】", head, sp, col, noun),
            _join(head, noun, col, sp, "现货速发"),
            _join(p.brand.en, head, sp, col, "官方正品"),
        )
    )


def kuaigou(sku: Sku, d: Draw) -> str:
    """An app API's short Chinese titles."""
    return f"{shandian(sku, d)}（{sku.product.family.noun_zh}）"
