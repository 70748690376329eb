"""Matcher unit tests: normaliser, attributes, vetoes, overrides, stable ids, explanation."""

from __future__ import annotations

import json

import pytest

from matching import MatchConfig, OfferRecord, Overrides, assign_product_ids, explain, match_offers
from matching.attributes import canonical_gtin, gtin_check_ok, model_codes, variant_attributes
from matching.identity_vetoes import IDENTITY_CHECKS
from matching.normalise import canonical_brand, normalise_title


def rec(key: str, title: str, **kw) -> OfferRecord:
    return OfferRecord(key=key, marketplace=key.split("/")[0], title=title, **kw)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("【官方旗舰店】苹果 iPhone 15 Pro 256G 黑色 正品", "apple iphone 15 pro 256gb black"),
        ("Apple iPhone15Pro 256GB Black", "apple iphone 15 pro 256gb black"),
        ("ＡＰＰＬＥ　ｉＰｈｏｎｅ　１５", "apple iphone 15"),
        ("Official Genuine NEW Sony WH-1000XM5", "sony wh 1000 xm 5"),
        ("农夫山泉 1L", "nongfu spring 1000ml"),
        ("Coffee beans 1kg", "coffee beans 1000g"),
        ("Water 1.5 L", "water 1500ml"),
        ("iPhone15ProMax 1TB", "iphone 15 pro max 1tb"),
        ("1 Terabyte nova 11 Ultra", "1tb nova 11 ultra"),
        ("512 Gigabytes 13 Pro", "512gb 13 pro"),
        ("Milo 1000 Grams", "milo 1000g"),
        ("Milo 1.5 Kilograms", "milo 1500g"),
        ("Coffee 2 Pounds", "coffee 907.2g"),
        ("美禄 巧克力麦芽 雀巢 现货速发 全国联保", "美禄 巧克 克力 力麦 麦芽 nestle"),
    ],
)
def test_normalise_title(title: str, expected: str) -> None:
    assert normalise_title(title) == expected


def test_chinese_is_segmented_not_one_token() -> None:
    assert len(normalise_title("运动休闲健身裤").split()) > 1
    assert len(normalise_title("运动休闲健身裤", "jieba").split()) > 1


@pytest.mark.parametrize(
    ("brand", "expected"),
    [
        ("苹果", "apple"),
        ("Apple Inc.", "apple"),
        ("Under Armour/安德玛", "under armour"),
        ("茵宝/ Umbro", "umbro"),
        ("", None),
        (None, None),
    ],
)
def test_canonical_brand(brand: str | None, expected: str | None) -> None:
    assert canonical_brand(brand) == expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("4006381333931", True),
        ("4006381333932", False),
        ("036000291452", True),
        ("96385074", True),
        ("123", False),
    ],
)
def test_gtin_check_digit(value: str, ok: bool) -> None:
    assert gtin_check_ok(value) is ok


def test_upc_equals_ean_with_leading_zero() -> None:
    assert canonical_gtin("036000291452") == canonical_gtin("0036000291452") is not None
    assert canonical_gtin("036000291453") is None


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("bose acoustimass 5 series iii speaker system am53bk", {"am53bk"}),
        ("Sony WH-1000XM5 headphones", {"wh1000xm5"}),
        ("Apple iPhone15ProMax 256GB", {"iphone15promax"}),
        ("Samsung 2020 4K TV 55 inch USB3", set()),
        ("安德玛健身裤1351533", {"1351533"}),
    ],
)
def test_model_codes(text: str, codes: set[str]) -> None:
    assert set(model_codes(text)) == codes


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("苹果 iPhone 15 Pro 256G 黑色", {"storage": "256", "colour": "black"}),
        ("Xiaomi 14 12GB+512GB Blue", {"memory": "12", "storage": "512", "colour": "blue"}),
        ("Laptop 16GB RAM 1TB SSD", {"memory": "16", "storage": "1024"}),
        ("Coca-Cola 330ml x 6", {"volume": "330", "pack": "6"}),
        ("可口可乐 330毫升 12罐装", {"volume": "330", "pack": "12"}),
        ("农夫山泉 1L", {"volume": "1000"}),
        ("Nike Air Zoom EU 42 White", {"size": "42", "colour": "white"}),
        ("耐克 跑鞋 42码 白色", {"size": "42", "colour": "white"}),
        ("Coffee 1kg 6-pack", {"weight": "1000", "pack": "6"}),
        # units and size prefixes as shops spell them out
        ("MacBook Pro 14 32 GB Memory 512 G", {"memory": "32", "storage": "512"}),
        ("32 G RAM 1 Terabyte MacBook Pro 14", {"memory": "32", "storage": "1024"}),
        ("512 Gigabytes 13 Pro 5g smartphone", {"storage": "512"}),
        ("SanDisk Ultra 64GB Memory Card", {"storage": "64"}),
        ("Kingston 16GB DDR4 Memory", {"storage": "16"}),  # the one capacity stated, as without the word
        ("Corsair 16GB RAMKit DDR4 3200MHz", {"memory": "16"}),
        ("Milo 1000 Grams", {"weight": "1000"}),  # was memory 1000 ('g' + 'rams' read as G RAM)
        ("Instant noodles 80g ramen", {"weight": "80"}),
        ("Air Force 1 '07 Sz 44 Grey", {"size": "44", "colour": "gray"}),
    ],
)
def test_variant_attributes(title: str, expected: dict[str, str]) -> None:
    assert variant_attributes(title) == expected


def test_same_sku_across_languages_merges() -> None:
    a = rec("jingxuan/1", "【官方旗舰店】苹果 iPhone 15 Pro 256G 黑色 正品")
    b = rec("techmall/1", "Apple iPhone15Pro 256GB Black", brand="Apple")
    result = match_offers([a, b])
    assert [g.members for g in result.groups] == [["jingxuan/1", "techmall/1"]]
    assert explain(a, b).decision == "match"


@pytest.mark.parametrize(
    ("t1", "t2"),
    [
        ("Apple iPhone 15 Pro 128GB Black", "Apple iPhone 15 Pro 256GB Black"),
        ("Apple iPhone 15 Pro 256GB Black", "Apple iPhone 15 Pro 256GB White"),
        ("Coca-Cola 330ml x 6", "Coca-Cola 330ml x 12"),
        ("农夫山泉 550ml", "农夫山泉 1L"),
        ("Nike Air Zoom Pegasus 40 EU 42", "Nike Air Zoom Pegasus 40 EU 43"),
    ],
)
def test_variant_conflict_never_merges(t1: str, t2: str) -> None:
    result = match_offers([rec("a/1", t1), rec("b/1", t2)])
    assert len(result.groups) == 2
    assert explain(rec("a/1", t1), rec("b/1", t2)).vetoes


def test_shop_service_words_do_not_split_one_product() -> None:
    """Titles that differ only by a shop's service words, size prefix and RAM wording are one product (the
    group-level model-words check read ``fast ship``, ``sz`` and ``memory`` as model words and split them)."""
    offers = [
        rec("a/1", "Sz 44 Air Force 1 '07 Premium sneakers [Grey] - NIKE Fast Ship"),
        rec("b/1", "EUR44 Air Force 1 '07 Premium sneakers [Grey] - NIKE Free Returns"),
        rec("c/1", "Air Force 1 '07 Premium Sz 44 [Grey] 耐克 现货速发"),
        rec("d/1", "Air Force 1 '07 Premium EUR44 [Grey] 耐克 全国联保"),
        rec("e/1", "32 GB Memory 1 Terabyte MacBook Pro 14 M3 Pro laptop - APPLE w/ Warranty"),
        rec("f/1", "MacBook Pro 14 M3 Pro 32 G RAM 1 TB 苹果 Sealed"),
        rec("g/1", "Air Force 1 '07 Premium Sz 45 [Grey] 耐克"),
    ]
    groups = sorted(g.members for g in match_offers(offers).groups)
    assert groups == [["a/1", "b/1", "c/1", "d/1"], ["e/1", "f/1"], ["g/1"]]


def test_group_veto_blocks_transitive_merge() -> None:
    # 'no storage' bridges 128GB and 256GB pairwise; the group veto keeps them apart.
    offers = [
        rec("a/1", "Apple iPhone 15 Pro 128GB"),
        rec("b/1", "Apple iPhone 15 Pro"),
        rec("c/1", "Apple iPhone 15 Pro 256GB"),
    ]
    groups = match_offers(offers).groups
    for g in groups:
        assert not {"a/1", "c/1"} <= set(g.members)


def test_gtin_decides() -> None:
    a = rec("a/1", "Widget deluxe", gtin="4006381333931")
    b = rec("b/1", "Totally different words", gtin="4006381333931")
    c = rec("c/1", "Widget deluxe", gtin="036000291452")
    groups = {tuple(g.members): g for g in match_offers([a, b, c]).groups}
    assert ("a/1", "b/1") in groups
    assert groups[("a/1", "b/1")].method == {"a/1": "gtin", "b/1": "gtin"}


def test_overrides_are_obeyed() -> None:
    a, b = rec("a/1", "Sony WH-1000XM5 Black"), rec("b/1", "Sony WH-1000XM5 Black headphones")
    c = rec("c/1", "Bose QuietComfort Ultra")
    assert any(len(g.members) == 2 for g in match_offers([a, b, c]).groups)
    ov = Overrides()
    ov.add("a/1", "b/1", "split")
    ov.add("a/1", "c/1", "confirm")
    groups = [set(g.members) for g in match_offers([a, b, c], overrides=ov).groups]
    assert {"a/1", "c/1"} in groups and {"b/1"} in groups
    result = match_offers([a, b, c], overrides=ov)
    assert next(g for g in result.groups if "c/1" in g.members).method["c/1"] == "override"
    rows = ov.to_rows()
    assert Overrides.from_rows(rows).to_rows() == rows


def test_review_queue_holds_uncertain_pairs() -> None:
    cfg = MatchConfig(review_margin=0.5)
    result = match_offers([rec("a/1", "Sony WH-1000XM5"), rec("b/1", "Sony WH-1000XM4")], cfg)
    assert result.review and {result.review[0].key_a, result.review[0].key_b} == {"a/1", "b/1"}


def test_config_roundtrip_is_json() -> None:
    cfg = MatchConfig(threshold=0.7)
    assert MatchConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_stable_ids_across_runs() -> None:
    first = assign_product_ids([["a/1", "b/1"], ["c/1"]], {})
    assert first[0].startswith("p_") and first[0] != first[1]
    assert assign_product_ids([["a/1", "b/1"], ["c/1"]], {}) == first  # deterministic
    previous = {"a/1": first[0], "b/1": first[0], "c/1": first[1]}
    # a new offer joins the first group; the groups are listed in another order
    second = assign_product_ids([["c/1"], ["a/1", "b/1", "d/1"]], previous)
    assert second == [first[1], first[0]]
    # a split: the part holding most members keeps the id, the other gets a new one
    third = assign_product_ids([["a/1", "b/1"], ["d/1"], ["c/1"]], {**previous, "d/1": first[0]})
    assert third[0] == first[0] and third[1] not in (first[0], first[1]) and third[2] == first[1]


def test_stable_ids_ties_take_smallest_id() -> None:
    assert assign_product_ids([["a/1", "b/1"]], {"a/1": "p_b", "b/1": "p_a"}) == ["p_a"]


def test_explain_is_printable_and_serialisable() -> None:
    e = explain(rec("a/1", "Apple iPhone 15 Pro 128GB"), rec("b/1", "Apple iPhone 15 Pro 256GB"))
    assert "storage" in str(e) and e.decision == "vetoed"
    json.dumps(e.to_dict(), ensure_ascii=False)


def test_explain_shows_the_identity_veto_the_pipeline_applies() -> None:
    a, b = rec("a/1", "华为 Mate 50 Pro 256GB 黑色"), rec("b/1", "华为 Mate 60 Pro 256GB 黑色")
    assert explain(a, b).decision == "no match" and len(match_offers([a, b]).groups) == 2  # the model says so
    strict = MatchConfig(identity_vetoes=list(IDENTITY_CHECKS))  # model numbers veto at pair level
    e = explain(a, b, strict)
    assert e.decision == "vetoed"
    assert any(v.startswith("identity: model numbers") and "50" in v and "60" in v for v in e.vetoes)
