"""The demo catalogue: seeded SKUs, which shop carries what, and the truth to score a crawl and a match.

``generate_catalogue(size, seed)`` is cheap even for hundreds of thousands of SKUs: it keeps one compact
row per SKU (product, variant, shops) and computes listings (titles, prices, stock) on demand.

    python -m demo.catalogue --size 150 --seed 7 --truth truth.csv
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import sys
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from math import log2
from typing import NamedTuple

from demo.listings import FIELD_MAP_SHOPS, SHOPS, Listing, make_listing, money
from demo.products import Product, iter_products
from demo.rand import Draw, permute
from demo.shopper import STORES, Store
from demo.titles import quantity, storage

__all__ = ["SHOPS", "STORES", "Catalogue", "Listing", "Sku", "Store", "TruthRow", "generate_catalogue"]

SHOP_SHARE = 0.85
FIELD_MAP_SHARE = 0.6
STORE_SHARE = 0.65


@dataclass(frozen=True, slots=True)
class Sku:
    """One sellable variant of one base product (the unit the matcher must group)."""

    index: int
    product: Product
    variant: tuple[tuple[str, object], ...]
    cents: int
    """Reference price in fen; shops price within ±15 % of it."""

    @property
    def sku_id(self) -> str:
        return f"SKU{self.index:07d}"

    @property
    def values(self) -> dict:
        return dict(self.variant)

    @property
    def name(self) -> str:
        """Canonical English name, e.g. ``Apple iPhone 15 Pro 256GB Black``."""
        v, p = self.values, self.product
        words = [p.model_en if p.model_en.startswith(p.brand.en) else f"{p.brand.en} {p.model_en}"]
        words += [storage(v[a], "GB") for a in ("memory", "storage") if a in v]
        words += [quantity(v, "short", "x"), f"EU {v['size']}" if "size" in v else "", v.get("colour", "")]
        return " ".join(w for w in words if w)

    @property
    def gtin(self) -> str:
        """A valid EAN-13 (prefix 69), unique per SKU."""
        body = f"69{(self.index * 7_654_321 + 1_234_567) % 10**10:010d}"
        total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
        return body + str((10 - total % 10) % 10)

    @property
    def mpn(self) -> str:
        family = self.product.family
        prefix = family.mpn or "".join(w[0] for w in self.product.model_en.split()).upper()
        code = permute(self.index, 8)
        return f"{prefix}{code % 1000:03d}{chr(65 + code // 1000 % 26)}{chr(65 + code // 26000 % 26)}"


class TruthRow(NamedTuple):
    marketplace: str
    listing_id: str
    sku_id: str
    title: str
    price: Decimal
    final_price: Decimal | None
    shipping: Decimal
    landed_price: Decimal
    in_stock: bool


def _variant_cents(product: Product, variant: tuple[tuple[str, object], ...]) -> int:
    v = dict(variant)
    pools = dict(product.family.options)
    cents = float(product.base_cents)
    for axis in ("storage", "memory"):
        if axis in v:
            lowest = min(pools[axis].index(dict(x)[axis]) for x in product.variants)
            cents *= 1 + 0.14 * (pools[axis].index(v[axis]) - lowest)
    for axis, unit in (("volume", 500), ("weight", pools.get("weight", (100,))[0]), ("count", 15)):
        if axis in v:
            cents *= (v[axis] / unit) ** 0.88
    pack = v.get("pack", 1)
    cents *= pack * (1 - 0.03 * log2(pack))
    return int(money(cents) * 100)


class Catalogue:
    """SKUs and, per shop, the listings the demo server serves. Build it with :func:`generate_catalogue`."""

    shops = SHOPS
    field_map_shops = FIELD_MAP_SHOPS
    stores = STORES

    def __init__(self, size: int, seed: int, products: list[Product]) -> None:
        self.size, self.seed, self.products = size, seed, products
        self._sku_product = array("I")
        self._sku_variant = array("H")
        self._sku_cents = array("q")
        for product in products:
            for number, variant in enumerate(product.variants[: size - len(self._sku_product)]):
                self._sku_product.append(product.index)
                self._sku_variant.append(number)
                self._sku_cents.append(_variant_cents(product, variant))
        self._shop_mask = bytearray(self._carriage(i) for i in range(size))
        self._store_mask = bytearray(self._stocking(i) for i in range(size))

    def _carriage(self, index: int) -> int:
        """Bit ``k`` set: shop ``SHOPS[k]`` lists the SKU (the first five ~85 % each, at least two of
        them; the field-map shops ~60 % each, drawn apart so that the first five stay as they were)."""
        first = len(SHOPS) - len(FIELD_MAP_SHOPS)
        d = Draw(self.seed, 1000, index)
        mask = sum(1 << k for k in range(first) if d.chance(SHOP_SHARE))
        while bin(mask).count("1") < 2:
            mask |= 1 << int(d.random() * first)
        more = Draw(self.seed, 1002, index)
        return mask | sum(1 << k for k in range(first, len(SHOPS)) if more.chance(FIELD_MAP_SHARE))

    def _stocking(self, index: int) -> int:
        d = Draw(self.seed, 1001, index)
        mask = sum(1 << k for k in range(len(STORES)) if d.chance(STORE_SHARE))
        return mask or 1 << int(d.random() * len(STORES))

    def __len__(self) -> int:
        return self.size

    def sku(self, index: int) -> Sku:
        product = self.products[self._sku_product[index]]
        return Sku(index, product, product.variants[self._sku_variant[index]], self._sku_cents[index])

    def skus(self) -> Iterator[Sku]:
        return (self.sku(i) for i in range(self.size))

    def shops_of(self, index: int) -> tuple[str, ...]:
        return tuple(shop for k, shop in enumerate(SHOPS) if self._shop_mask[index] >> k & 1)

    def _indexes(self, bit: int, mask: bytearray) -> array:
        return array("I", (i for i, m in enumerate(mask) if m >> bit & 1))

    @cached_property
    def _shop_skus(self) -> dict[str, array]:
        return {shop: self._indexes(k, self._shop_mask) for k, shop in enumerate(SHOPS)}

    def shop_skus(self, shop: str) -> array:
        """SKU indexes the shop lists, in its catalogue order."""
        return self._shop_skus[shop]

    @cached_property
    def _store_skus(self) -> dict[int, array]:
        on_shandian = self._shop_skus["shandian"]
        return {
            s.id: array("I", (i for i in on_shandian if self._store_mask[i] >> k & 1))
            for k, s in enumerate(STORES)
        }

    def store(self, store_id: int) -> Store:
        return next(s for s in STORES if s.id == store_id)

    def store_skus(self, store_id: int) -> array:
        """SKU indexes a shandian store lists (a subset of shandian's)."""
        return self._store_skus[store_id]

    @cached_property
    def shopify_products(self) -> list[tuple[int, array]]:
        """shopline's products: (base product index, its SKU indexes there), one Shopify product each."""
        groups = itertools.groupby(self._shop_skus["shopline"], key=lambda i: self._sku_product[i])
        return [(product, array("I", members)) for product, members in groups]

    def listing(self, shop: str, index: int, store: Store | None = None) -> Listing:
        position = bisect.bisect_left(self._shop_skus[shop], index)
        return make_listing(self.seed, shop, self.sku(index), position, store)

    def listings(self, shop: str) -> Iterator[Listing]:
        """Every listing of a shop (shandian: one per store that lists the SKU)."""
        if shop != "shandian":
            return (
                make_listing(self.seed, shop, self.sku(i), n) for n, i in enumerate(self._shop_skus[shop])
            )
        return (
            make_listing(self.seed, shop, self.sku(i), n, store)
            for n, i in enumerate(self._shop_skus[shop])
            for k, store in enumerate(STORES)
            if self._store_mask[i] >> k & 1
        )

    def truth_rows(self, absurd: Iterable[str] = ()) -> Iterator[TruthRow]:
        """One row per listing the server serves; ``absurd``: shops whose ``absurd_prices`` fault is on
        (their broken listings are left out: no crawler should store them)."""
        absurd = set(absurd)
        for shop in SHOPS:
            for x in self.listings(shop):
                if x.absurd is not None and shop in absurd:
                    continue
                yield TruthRow(
                    shop,
                    x.listing_id,
                    x.sku.sku_id,
                    x.title,
                    x.price,
                    x.final_price,
                    x.shipping,
                    x.landed_price,
                    x.in_stock,
                )

    def expected_lowest(self, absurd: Iterable[str] = ()) -> dict[str, tuple[Decimal, str]]:
        """``{sku_id: (lowest landed price among in-stock offers, marketplace)}``; ties go to the
        marketplace first in :data:`SHOPS` order."""
        best: dict[str, tuple[Decimal, str]] = {}
        for row in self.truth_rows(absurd):
            if row.in_stock and (row.sku_id not in best or row.landed_price < best[row.sku_id][0]):
                best[row.sku_id] = (row.landed_price, row.marketplace)
        return best

    def write_truth(self, out: str, absurd: Iterable[str] = ()) -> int:
        """Write :meth:`truth_rows` as CSV (``-`` = stdout); returns the number of rows."""
        stream = sys.stdout if out == "-" else open(out, "w", newline="", encoding="utf-8")  # noqa: SIM115
        try:
            writer = csv.writer(stream)
            writer.writerow(TruthRow._fields)
            count = 0
            for row in self.truth_rows(absurd):
                writer.writerow(["" if v is None else v for v in row])
                count += 1
            return count
        finally:
            if stream is not sys.stdout:
                stream.close()


def generate_catalogue(size: int = 150, seed: int = 7) -> Catalogue:
    """A deterministic catalogue of ``size`` SKUs: the same (size, seed) always gives the same data, and
    a smaller size is a prefix of a larger one with the same seed."""
    if size < 1:
        raise ValueError("size must be at least 1")
    products: list[Product] = []
    count = 0
    for product in iter_products(seed):
        products.append(product)
        count += len(product.variants)
        if count >= size:
            break
    return Catalogue(size, seed, products)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.catalogue", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=150, help="number of SKUs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--truth", default="-", help="CSV path for the truth rows (- = stdout)")
    parser.add_argument(
        "--absurd",
        action="append",
        default=[],
        metavar="SHOP",
        help="leave out the listings the absurd_prices fault breaks on SHOP (repeatable)",
    )
    args = parser.parse_args(argv)
    catalogue = generate_catalogue(args.size, args.seed)
    rows = catalogue.write_truth(args.truth, args.absurd)
    if args.truth != "-":
        print(f"{rows} truth rows for {args.size} SKUs → {args.truth}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
