"""Demo listings titled another way than the demo shops title them (and than the default model was fitted
on): to see what a catalogue in an unfamiliar style does to the matcher, and how much a merchandiser's
decisions teach it. Every title is a pure function of the listing, like the shops' own."""

from __future__ import annotations

import zlib

from demo.listings import Listing

UNITS = {"storage": ("Gigabytes", "GB", "G"), "memory": ("GB RAM", "G RAM", "GB Memory")}
NOISE = ("Sealed", "Fast Ship", "Authentic", "w/ Warranty", "Free Returns", "", "", "")
NOISE_ZH = ("现货速发", "顺丰包邮", "全国联保", "", "")


def _pick(listing: Listing, salt: str, options: tuple[str, ...]) -> str:
    digest = zlib.crc32(f"{listing.marketplace}/{listing.listing_id}/{salt}".encode())
    return options[digest % len(options)]


def _amount(values: dict, listing: Listing) -> str:
    if "volume" in values:
        ml = int(values["volume"])
        text = f"{ml / 1000:g} Liter" if ml >= 1000 else f"{ml} ML"
    elif "weight" in values:
        text = f"{int(values['weight'])} Grams"
    elif "count" in values:
        text = f"{values['count']} ct"
    else:
        return ""
    pack = int(values.get("pack", 1))
    return f"{text} ({pack}-Count)" if pack > 1 else text


def _specs(values: dict, listing: Listing) -> list[str]:
    words = []
    for axis in ("memory", "storage"):
        if axis in values:
            gb = int(values[axis])
            unit = _pick(listing, axis, UNITS[axis])
            words.append(f"{gb // 1024} Terabyte" if gb >= 1024 and axis == "storage" else f"{gb} {unit}")
    words.append(_amount(values, listing))
    if "size" in values:
        words.append(
            _pick(listing, "size", (f"Sz {values['size']}", f"EUR{values['size']}", f"({values['size']})"))
        )
    return [w for w in words if w]


def restyled_title(listing: Listing) -> str:
    """One SKU's title in a style none of the demo shops uses: specs first, brand last in capitals, units
    spelled out, colour in brackets, shop noise words; Chinese shops keep Chinese names with other units."""
    product, values = listing.sku.product, listing.sku.values
    colour = str(values.get("colour", ""))
    if listing.marketplace in ("jingxuan", "shandian"):
        specs = " ".join(_specs(values, listing)).replace("Gigabytes", "G").replace("Terabyte", "TB")
        parts = [
            product.model_zh,
            specs,
            colour and f"[{colour}]",
            product.brand.zh,
            _pick(listing, "n", NOISE_ZH),
        ]
    else:
        model = product.model_en.removeprefix(product.brand.en).strip()
        parts = [*_specs(values, listing), model, product.family.noun_en.lower(), colour and f"[{colour}]"]
        parts += [f"- {product.brand.en.upper()}", _pick(listing, "n", NOISE)]
    return " ".join(p for p in parts if p)
