"""Promotion texts → rules (a fixture of 70 real-style texts, and properties), and the price of a quantity."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.promo_pricing import family_saving, line_total, price_for_quantity
from core.promotions import Kind, Rule, Scope, parse_promotion, parse_promotions

CASES = json.loads(
    (Path(__file__).parent / "fixtures" / "promotions" / "cases.json").read_text(encoding="utf-8")
)
TODAY = date(2026, 11, 1)


def test_the_fixture_is_big_and_covers_every_kind_and_scope():
    assert len(CASES) >= 60
    kinds = {r["kind"] for case in CASES for r in case["rules"]}
    scopes = {r["scope"] for case in CASES for r in case["rules"]}
    assert kinds == {k.value for k in Kind} and scopes == {s.value for s in Scope}
    assert sum(1 for case in CASES if not case["rules"]) >= 5  # texts that state no rule


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_parse_real_style_texts(case):
    rules = parse_promotion(case["text"], today=TODAY)
    assert [{k: v for k, v in r.to_dict().items() if k != "raw"} for r in rules] == case["rules"]
    assert all(r.raw == case["text"] for r in rules)  # the raw text is kept


def test_validity_dates_decide_whether_a_rule_is_active():
    (rule,) = parse_promotion("11.1-11.11 满300减50", today=TODAY)
    assert rule.active_on(date(2026, 11, 11)) and not rule.active_on(date(2026, 11, 12))
    assert not rule.active_on(date(2026, 10, 31))


def test_parse_promotions_keeps_each_rule_once():
    rules = parse_promotions(["满99包邮", "满99包邮", "第二件半价"], today=TODAY)
    assert [r.kind for r in rules] == [Kind.free_shipping, Kind.nth_item]


@pytest.mark.parametrize(
    ("unit", "qty", "texts", "shipping", "final", "expected"),
    [
        ("62", 1, ["满59减10"], "3", False, "55.00"),  # 62 - 10 + 3
        ("29", 2, ["第二件半价", "满99包邮"], "6", False, "49.50"),  # 29 + 14.5 + 6
        ("29", 4, ["第二件半价", "满99包邮"], "6", False, "93.00"),  # two pairs: 87, shipping 6 (87 < 99)
        ("35", 4, ["第二件半价", "满99包邮"], "6", False, "105.00"),  # 105 ≥ 99: free shipping
        ("120", 3, ["每满100减10 最高减25"], "0", False, "335.00"),  # 360 - min(30, 25)
        ("100", 3, ["2件8折"], "0", False, "240.00"),
        ("30", 3, ["2件50元"], "0", False, "80.00"),  # one pair for 50 + one at 30
        ("100", 2, ["直降20", "8折"], "0", False, "128.00"),  # (100 - 20) × 0.8 × 2
        ("100", 2, ["直降20", "8折"], "0", True, "200.00"),  # a 券后价 already includes them
        ("50", 2, ["满100减10", "店铺券满100减5"], "0", False, "85.00"),  # 满减 and a coupon stack
        ("50", 2, ["满100减10", "满100减20"], "0", False, "80.00"),  # two 满减 tiers: the best only
        ("5", 1, ["10元无门槛券"], "2", False, "2.00"),  # never below zero before shipping
        ("80", 1, ["满100减10"], "8", False, "88.00"),  # unmet
    ],
)
def test_price_for_a_quantity(unit, qty, texts, shipping, final, expected):
    rules = parse_promotions(texts, today=TODAY)
    got = price_for_quantity(Decimal(unit), qty, rules, shipping=Decimal(shipping), has_final_price=final)
    assert got == Decimal(expected)


@given(st.text(max_size=60))
def test_any_text_parses_without_error_and_keeps_its_raw_text(text):
    for rule in parse_promotion(text, today=TODAY):
        assert rule.raw == " ".join(text.split())
        assert rule.kind in Kind and rule.scope in Scope


amounts = st.integers(1, 5000)


@given(amounts, amounts, st.sampled_from(["满{a}减{b}", "满{a}元减{b}元", "满{a}-{b}", "店铺满{a}减{b}"]))
def test_threshold_texts_round_trip(a, b, template):
    rules = parse_promotion(template.format(a=a, b=b), today=TODAY)
    if b >= a:
        assert rules == []  # 满100减150 is no promotion
    else:
        assert [(r.kind, r.threshold, r.amount) for r in rules] == [(Kind.threshold, a, b)]


@given(st.integers(1, 99))
def test_discount_texts_round_trip(n):
    (rule,) = parse_promotion(f"{n / 10:g}折" if n % 10 else f"{n // 10}折", today=TODAY)
    assert rule.kind is Kind.discount and rule.rate == Decimal(n) / 100


rule_lists = st.lists(
    st.sampled_from(
        [
            "满100减10",
            "每满50减5 最高减20",
            "8折",
            "第二件半价",
            "2件8折",
            "3件99元",
            "直降5元",
            "店铺券满30减3",
            "满99包邮",
            "满2件包邮",
            "跨店每满300减50",
            "买2送1",
            "第2件1元",
        ]
    ),
    max_size=5,
).map(lambda texts: parse_promotions(texts, today=TODAY))


@given(st.integers(1, 100_000).map(lambda c: Decimal(c) / 100), st.integers(1, 12), rule_lists, st.booleans())
def test_price_is_never_negative_and_never_above_the_undiscounted_price(unit, qty, rules, final):
    shipping = Decimal("6")
    price = price_for_quantity(unit, qty, rules, shipping=shipping, has_final_price=final)
    assert Decimal(0) <= price <= unit * qty + shipping


@given(st.integers(1, 100_000).map(lambda c: Decimal(c) / 100), st.integers(1, 12), rule_lists)
def test_one_more_unit_costs_at_most_its_price_and_only_a_bundle_makes_more_cheaper(unit, qty, rules):
    more, fewer = line_total(unit, qty + 1, rules), line_total(unit, qty, rules)
    assert more <= fewer + unit
    # 3件99元 at ¥49.51 each: 3 cost ¥99.00, 2 cost ¥99.02 — a real bundle price; nothing else does that
    if not any(r.kind is Kind.multi_buy and r.amount is not None for r in rules):
        assert more >= fewer


@given(
    st.integers(0, 10_000),
    st.integers(1, 500),
    st.integers(1, 100),
    st.one_of(st.none(), st.integers(1, 300)),
)
def test_per_threshold_saving_is_capped_and_grows_with_spend(spend, threshold, amount, cap):
    rule = Rule(
        Kind.per_threshold,
        Scope.store,
        "x",
        threshold=Decimal(threshold),
        amount=Decimal(amount),
        cap=None if cap is None else Decimal(cap),
    )
    saving = family_saving(Decimal(spend), 1, rule)
    assert saving == min(amount * (spend // threshold), cap if cap is not None else 10**9)
    assert family_saving(Decimal(spend + threshold), 1, rule) >= saving
