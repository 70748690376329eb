"""Property-based tests (hypothesis) for price parsing and the matcher's title normaliser."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from core.prices import parse_delivery_hours, parse_price, parse_shipping
from matching.normalise import fold, normalise_title

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FULL = {cp: cp + 0xFEE0 for cp in range(0x21, 0x7F)} | {0x20: 0x3000}

amounts = st.decimals(
    min_value=Decimal("0.01"),
    max_value=Decimal("9999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
# page-like text: price words, currency signs, digits, separators, CJK, and anything else
price_alphabet = st.sampled_from(
    list("0123456789.,-~ ¥￥$€£元起券后价包邮运费满减询价*天小时分钟次日达kKmM\u3000０１２３４５６７８９")
)
price_like = st.one_of(st.text(), st.text(alphabet=price_alphabet, max_size=30))
# titles: mixed Chinese/English product words, units, brackets, full-width forms, anything else
title_words = st.sampled_from(
    [
        "Apple",
        "苹果",
        "iPhone",
        "15",
        "Pro",
        "256G",
        "256GB",
        "1TB",
        "黑色",
        "Black",
        "【官方旗舰店】",
        "正品",
        "包邮",
        "500ml",
        "1L",
        "2kg",
        "华为",
        "Mate60",
        "Galaxy S24+",
        "ＩＰＨＯＮＥ",
        "２５６Ｇ",
        "-",
        "/",
        "(",
        ")",
        "x",
        "12",
        "罐",
        "装",
        "手机",
        "新款",
    ]
)
titles = st.one_of(
    st.text(max_size=80),
    st.lists(title_words, max_size=12).map(" ".join),
    st.lists(title_words, max_size=12).map("".join),
)


def full_width(text: str) -> str:
    return text.translate(FULL)


# ------------------------------------------------------------------ parse_price


@SETTINGS
@given(price_like, st.sampled_from([None, "CNY", "USD", "EUR", "JPY", "见页面"]))
def test_parse_price_never_raises_and_is_consistent(text, hint):
    parsed = parse_price(text, hint)
    assert parsed.amount is None or isinstance(parsed.amount, Decimal)
    assert parsed.usable == (parsed.amount is not None)
    if parsed.amount is None:
        assert parsed.reason in ("missing", "masked", "unparsed")
    if parsed.currency is not None:
        assert len(parsed.currency) == 3 and parsed.currency.isupper()


@SETTINGS
@given(
    amounts,
    st.sampled_from(
        ["¥{:,.2f}", "￥{:,.2f}", "{:.2f}元", "券后价 ¥{:,.2f}", "¥ {:.2f}", "RMB {:,.2f}", "价格：{:.2f} 元"]
    ),
)
@example(Decimal("5999.00"), "¥{:,.2f}")
@example(Decimal("0.10"), "{:.2f}元")
def test_a_formatted_yuan_price_parses_back(amount, template):
    parsed = parse_price(template.format(amount))
    assert parsed.amount == amount and parsed.currency == "CNY", template.format(amount)


@SETTINGS
@given(amounts, st.sampled_from(["-{:.2f}", "¥-{:.2f}", "-¥{:,.2f}", "−{:.2f}", "CNY -{:.2f}"]))
def test_a_negative_price_never_reads_as_positive(amount, template):
    assert parse_price(template.format(amount)).amount == -amount


@SETTINGS
@given(amounts)
def test_full_width_digits_parse_like_half_width(amount):
    text = f"¥{amount:.2f}"
    assert parse_price(full_width(text)).amount == parse_price(text).amount == amount


@SETTINGS
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=25))
def test_full_width_text_parses_like_ascii_text(text):
    assert parse_price(full_width(text), "CNY").amount == parse_price(text, "CNY").amount


@SETTINGS
@given(amounts, amounts)
def test_a_range_gives_its_low_end(a, b):
    assume(a != b)
    low, high = min(a, b), max(a, b)
    parsed = parse_price(f"¥{low:.2f}-¥{high:.2f}")
    assert parsed.amount == low and parsed.is_range


@SETTINGS
@given(price_like)
def test_parse_shipping_never_raises(text):
    fee = parse_shipping(text, "CNY")
    assert fee is None or isinstance(fee, Decimal)


@SETTINGS
@given(amounts)
def test_shipping_fee_text_parses_back(amount):
    assert parse_shipping(f"运费 ¥{amount:.2f}") == amount
    assert parse_shipping("包邮") == 0


@SETTINGS
@given(price_like)
def test_parse_delivery_hours_never_raises_and_is_not_negative(text):
    hours = parse_delivery_hours(text)
    assert hours is None or hours >= 0


# ------------------------------------------------------------------ the matcher's normaliser


@SETTINGS
@given(titles)
def test_normalise_title_never_raises_and_is_canonical_text(title):
    out = normalise_title(title)
    assert isinstance(out, str)
    assert out == " ".join(out.split())  # single spaces, no leading/trailing space
    assert out == out.lower()


# Known (reported to matching): a unit glued to a word is split from its number but not made canonical,
# so a second pass changes it ('iPhone15Pro256G' → 'iphone 15 pro 256 g' → '… 256g'; 'A0G' → 'a 0 g' →
# 'a 0g'). strict: when normalise is fixed this XPASSes and the marker must go.
@SETTINGS
@given(titles)
@example("iPhone15Pro256G")
@example("【官方旗舰店】苹果 iPhone 15 Pro 256G 黑色 正品")
def test_normalise_title_is_idempotent(title):
    once = normalise_title(title)
    assert normalise_title(once) == once


def test_glued_storage_normalises_like_spaced_storage():
    assert normalise_title("iPhone15Pro256G") == normalise_title("iPhone 15 Pro 256G")


@SETTINGS
@given(st.lists(title_words, max_size=12).map(" ".join))
@example("【官方旗舰店】苹果 iPhone 15 Pro 256G 黑色 正品")
def test_normalise_title_is_idempotent_on_spaced_titles(title):
    once = normalise_title(title)
    assert normalise_title(once) == once


@SETTINGS
@given(st.lists(title_words.filter(str.isascii), max_size=10).map(" ".join))
def test_full_width_titles_normalise_like_half_width(title):
    assert normalise_title(full_width(title)) == normalise_title(title)


@SETTINGS
@given(titles)
def test_fold_is_idempotent_and_half_width(title):
    once = fold(title)
    assert fold(once) == once
    assert not any(0xFF01 <= ord(c) <= 0xFF5E for c in once)
