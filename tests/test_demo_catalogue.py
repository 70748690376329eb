"""The demo catalogue generator: deterministic, realistic variants and titles, a consistent truth."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from decimal import Decimal

import pytest

from demo.catalogue import SHOPS, generate_catalogue, main
from demo.listings import FIELD_MAP_SHOPS

GTIN_WEIGHTS = [1, 3] * 6


@pytest.fixture(scope="module")
def cat():
    return generate_catalogue()


@pytest.fixture(scope="module")
def truth(cat):
    return list(cat.truth_rows())


def test_same_seed_same_catalogue_and_other_seed_differs(truth):
    assert list(generate_catalogue(150, 7).truth_rows()) == truth
    other = list(generate_catalogue(150, 8).truth_rows())
    assert [r.title for r in other] != [r.title for r in truth]


def test_smaller_size_is_a_prefix_of_a_larger_one():
    small, big = generate_catalogue(40, 3), generate_catalogue(90, 3)
    assert [s.name for s in small.skus()] == [big.sku(i).name for i in range(40)]
    assert small.listing("woomart", 5).title == big.listing(
        "woomart", 5
    ).title or "woomart" not in small.shops_of(5)


def test_size_is_the_number_of_distinct_skus(cat):
    assert len(cat) == 150
    names = [s.name for s in cat.skus()]
    assert len(set(names)) == 150
    assert len({s.sku_id for s in cat.skus()}) == 150


def test_every_sku_on_two_shops_and_each_shop_carries_most(cat):
    assert all(len(set(cat.shops_of(i)) - set(FIELD_MAP_SHOPS)) >= 2 for i in range(len(cat)))
    for shop in SHOPS:
        low, high = (0.45, 0.75) if shop in FIELD_MAP_SHOPS else (0.75, 0.95)
        assert low <= len(cat.shop_skus(shop)) / len(cat) <= high, shop


def test_the_field_map_shops_leave_the_first_five_as_they_were(cat):
    """Adding shops must not change what the first five carry (their truth and tests stay valid)."""
    first = [s for s in SHOPS if s not in FIELD_MAP_SHOPS]
    assert len(first) == 5
    seven = generate_catalogue(150, 7)
    # measured on the code before the field-map shops were added
    assert [len(seven.shop_skus(shop)) for shop in first] == [119, 136, 125, 120, 126]
    assert tuple(seven.shop_skus("techmall"))[:8] == (0, 2, 3, 5, 6, 8, 9, 12)


def test_default_catalogue_has_100_skus_with_a_lowest_price(cat):
    lowest = cat.expected_lowest()
    assert len(lowest) >= 100
    assert all(isinstance(price, Decimal) and price > 0 and shop in SHOPS for price, shop in lowest.values())


def test_expected_lowest_is_the_min_landed_price_of_in_stock_rows(truth, cat):
    best: dict[str, Decimal] = {}
    for r in truth:
        base = r.final_price if r.final_price is not None else r.price
        assert r.landed_price == base + r.shipping
        if r.in_stock:
            best[r.sku_id] = min(best.get(r.sku_id, r.landed_price), r.landed_price)
    assert {k: v[0] for k, v in cat.expected_lowest().items()} == best
    assert any(not r.in_stock for r in truth) and any(r.final_price is not None for r in truth)


def test_listing_ids_follow_the_contract_and_are_unique(truth):
    patterns = {
        "techmall": r"TM\d{7}",
        "shopline": r"\d{11}",
        "woomart": r"\d+",
        "jingxuan": r"JX\d{7}",
        "shandian": r"\d+@[12]0[1-4]",
        "nextmall": r"NM\d{7}",
        "tanhuo": r"6\d{9}",
        "kuaigou": r"KG\d{7}",
    }
    for shop, pattern in patterns.items():
        ids = [r.listing_id for r in truth if r.marketplace == shop]
        assert ids and all(re.fullmatch(pattern, i) for i in ids), shop
        assert len(ids) == len(set(ids)), shop


def test_real_variants_sit_side_by_side_in_one_shop(cat):
    """A matcher that merges 128GB with 256GB, Black with White, 42 with 43, 6- with 12-pack is wrong."""
    seen: dict[str, set] = defaultdict(set)
    for shop in SHOPS:
        by_product = defaultdict(list)
        for i in cat.shop_skus(shop):
            by_product[cat.sku(i).product.index].append(cat.sku(i).values)
        for values in by_product.values():
            for axis in ("storage", "colour", "size", "pack", "volume", "memory"):
                if len({v.get(axis) for v in values}) > 1:
                    seen[axis].add(shop)
    assert {"storage", "colour", "size"} <= set(seen)
    assert seen["storage"] == set(SHOPS)


def test_the_same_sku_is_titled_differently_per_shop(cat):
    distinct = 0
    for i in range(len(cat)):
        titles = {cat.listing(shop, i, cat.stores[0]).title for shop in cat.shops_of(i)}
        distinct += len(titles) == len(cat.shops_of(i))
    assert distinct >= 0.9 * len(cat)
    jingxuan = [r.title for r in cat.truth_rows() if r.marketplace == "jingxuan"]
    assert all(re.search(r"[\u4e00-\u9fff]", t) for t in jingxuan)
    assert any("【官方旗舰店】" in t for t in jingxuan) and any("正品" in t for t in jingxuan)
    assert any("苹果" in t for t in jingxuan)


def test_units_and_glued_models_vary_across_shops():
    cat = generate_catalogue(600, 7)
    titles = {shop: " ".join(x.title for x in cat.listings(shop)) for shop in SHOPS}
    assert re.search(r"\b1L\b", titles["techmall"] + titles["woomart"])
    assert "1000ml" in titles["shandian"] and " 1L" not in titles["shandian"]
    assert "256G " in titles["jingxuan"] and "256 GB" in titles["shopline"]
    assert re.search(r"iPhone\d", titles["shopline"] + titles["woomart"])


def test_gtin_is_valid_shared_across_shops_and_only_sometimes_published(truth, cat):
    by_sku: dict[str, set] = defaultdict(set)
    published = total = 0
    for shop in SHOPS:
        for x in cat.listings(shop):
            total += 1
            if x.gtin:
                published += 1
                by_sku[x.sku.sku_id].add(x.gtin)
                digits = [int(c) for c in x.gtin]
                assert (
                    len(digits) == 13
                    and sum(w * d for w, d in zip(GTIN_WEIGHTS, digits, strict=False)) % 10
                    == (10 - digits[12]) % 10
                )
    assert all(len(g) == 1 for g in by_sku.values())
    assert 0.2 < published / total < 0.7
    assert len({cat.sku(i).gtin for i in range(len(cat))}) == len(cat)


def test_shop_prices_stay_within_15_percent_of_the_reference(cat):
    for shop in SHOPS:
        for x in cat.listings(shop):
            ref = Decimal(x.sku.cents) / 100
            assert abs(x.price - ref) <= ref * Decimal("0.16") + Decimal("0.1"), (shop, x.title)
            assert x.final_price is None or x.final_price < x.price


def test_absurd_listings_leave_the_truth_only_when_the_fault_is_on(cat, truth):
    broken = {
        (x.marketplace, x.listing_id) for shop in SHOPS for x in cat.listings(shop) if x.absurd is not None
    }
    assert broken and {s for s, _ in broken} == set(SHOPS)
    without = {(r.marketplace, r.listing_id) for r in cat.truth_rows(absurd=["woomart"])}
    assert without == {(r.marketplace, r.listing_id) for r in truth} - {
        b for b in broken if b[0] == "woomart"
    }


def test_large_catalogues_do_not_repeat_products():
    cat = generate_catalogue(20_000, 7)
    names = [(p.family.brand, p.model_en) for p in cat.products]
    assert len(names) == len(set(names))
    assert all(len(set(p.variants)) == len(p.variants) for p in cat.products)


def test_truth_cli_writes_csv(tmp_path, cat, truth):
    out = tmp_path / "truth.csv"
    assert main(["--size", "150", "--seed", "7", "--truth", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == len(truth)
    assert list(rows[0]) == [
        "marketplace",
        "listing_id",
        "sku_id",
        "title",
        "price",
        "final_price",
        "shipping",
        "landed_price",
        "in_stock",
    ]
    assert rows[0]["listing_id"] == truth[0].listing_id and Decimal(rows[0]["price"]) == truth[0].price
