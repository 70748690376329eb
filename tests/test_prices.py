"""core/prices.py: price, shipping and delivery text parsing."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.prices import currency_code, parse_delivery_hours, parse_price, parse_shipping
from core.values import money, structured_price


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("¥5,999.00", "5999.00", "CNY"),
        ("券后价 ¥5,799.00", "5799.00", "CNY"),
        ("￥１２３．５０", "123.50", "CNY"),
        ("22000.00元/台", "22000", "CNY"),
        ("1 人民币", "1", "CNY"),
        ("RMB 120", "120", "CNY"),
        ("CNY 88.5", "88.5", "CNY"),
        ("$1,299.99", "1299.99", "USD"),
        ("12,50 €", "12.50", "EUR"),
        ("£7.49", "7.49", "GBP"),
        ("3,500円", "3500", "JPY"),
    ],
)
def test_parse_price_amount_and_iso_currency(text: str, amount: str, currency: str) -> None:
    parsed = parse_price(text)
    assert parsed.amount == Decimal(amount)
    assert parsed.currency == currency
    assert parsed.reason is None and parsed.usable


def test_currency_hint_settles_ambiguous_symbols_and_fills_a_missing_currency() -> None:
    assert parse_price("$5", "CAD").currency == "CAD"
    assert parse_price("$5").currency == "USD"
    assert parse_price("¥500", "JPY").currency == "JPY"
    assert parse_price("¥500", "USD").currency == "CNY"
    assert parse_price("500", "CNY").currency == "CNY"
    # page text as a hint is not mistaken for an ISO code
    assert parse_price("149,00", "TTC").currency is None
    assert currency_code("руб.") == "RUB" and currency_code("kr", "SEK") == "SEK"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("¥**", "masked"),
        ("询价", "masked"),
        ("价格面议", "masked"),
        ("Call for price", "masked"),
        ("暂无报价", "masked"),
        ("sold out", "unparsed"),
    ],
)
def test_unusable_prices_have_a_reason(text: str | None, reason: str) -> None:
    parsed = parse_price(text)
    assert parsed.amount is None and not parsed.usable
    assert parsed.reason == reason


@pytest.mark.parametrize(
    ("text", "low"),
    [
        ("¥99-¥199", "99"),
        ("99~199元", "99"),
        ("¥1,299 - 1,599", "1299"),
        ("$10.00 – $20.00", "10.00"),
    ],
)
def test_ranges_take_the_low_end_and_say_so(text: str, low: str) -> None:
    parsed = parse_price(text)
    assert parsed.amount == Decimal(low)
    assert parsed.is_range and parsed.reason == "range"


def test_not_ranges() -> None:
    # first number is the price, the range after it is another widget (from price-parser's data)
    assert parse_price("€ 10.00 € 8.00 – € 10.00").amount == Decimal("10.00")
    assert not parse_price("50 - $2.00").is_range  # a quantity, not a range: low > high


@pytest.mark.parametrize("text", ["¥99起", "from $5.00", "低至 ¥19.9", "ab 12,00 €"])
def test_from_prices_are_flagged(text: str) -> None:
    parsed = parse_price(text)
    assert parsed.amount is not None and parsed.is_from and parsed.reason == "from"


@pytest.mark.parametrize(
    ("text", "fee"),
    [
        ("包邮", "0"),
        ("免运费", "0"),
        ("免邮", "0"),
        ("Free shipping", "0"),
        ("FREE", "0"),
        ("运费 ¥6.00", "6.00"),
        ("运费 ¥0.00", "0"),
        ("运费 ¥0.50", "0.50"),
        ("Shipping: $4.99", "4.99"),
        ("运费：￥１２", "12"),
    ],
)
def test_parse_shipping(text: str, fee: str) -> None:
    assert parse_shipping(text) == Decimal(fee)


@pytest.mark.parametrize("text", [None, "", "满99包邮", "Free shipping on orders over $49", "配送"])
def test_parse_shipping_unknown(text: str | None) -> None:
    assert parse_shipping(text) is None


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("30分钟达", 0.5),
        ("1小时达", 1),
        ("半小时达", 0.5),
        ("当日达", 12),
        ("次日达", 24),
        ("隔日达", 48),
        ("预计3天送达", 72),
        ("预计两天送达", 48),
        ("3-5 days", 72),
        ("1-2 business days", 24),
        ("next day", 24),
        ("Next-day delivery", 24),
        ("2 hours", 2),
        ("45 min", 0.75),
        ("1 week", 168),
    ],
)
def test_parse_delivery_hours(text: str, hours: float) -> None:
    assert parse_delivery_hours(text) == pytest.approx(hours)


@pytest.mark.parametrize("text", [None, "", "送达时间未知", "ships soon"])
def test_parse_delivery_hours_unknown(text: str | None) -> None:
    assert parse_delivery_hours(text) is None


def _minus_before_the_number(text: str) -> bool:
    digit = re.search(r"\d", text)
    return digit is not None and any(sign in text[: digit.start()] for sign in "-−－")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.one_of(st.none(), st.sampled_from(["CNY", "USD", "JPY", "Price:", "€"])))
def test_parsers_never_raise(text: str, hint: str | None) -> None:
    parsed = parse_price(text, hint)
    # a negative amount only from a leading minus sign (the pipeline then drops the offer as negative)
    assert parsed.amount is None or parsed.amount >= 0 or _minus_before_the_number(text)
    assert parsed.amount is not None or parsed.reason is not None
    parse_shipping(text)
    parse_delivery_hours(text)


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_yuan_format_round_trips(value: Decimal) -> None:
    parsed = parse_price(f"¥{value:,.2f}")
    assert parsed.amount == value
    assert parsed.currency == "CNY"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1e308", "scientific"),
        ("1e3", "scientific"),
        ("1E+20", "scientific"),
        ("¥1.5E+3", "scientific"),
        ("{'v': 1}", "not_text"),
        ('{"amount": 1299}', "not_text"),
        ("[1, 2]", "not_text"),
    ],
)
def test_numbers_no_shop_writes_as_a_price_are_refused_with_a_reason(text: str, reason: str) -> None:
    """price-parser reads each of these as 1 (``1e308`` → ¥1.00, the lowest price of all)."""
    parsed = parse_price(text, "CNY")
    assert (parsed.amount, parsed.reason) == (None, reason)


@pytest.mark.parametrize("text", ["[¥99]", "【¥99】", "iPhone 15 Pro ¥5999", "2e 包邮 ¥10"])
def test_brackets_and_letters_beside_a_price_are_not_refused(text: str) -> None:
    assert parse_price(text).reason not in ("scientific", "not_text")


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        ("119.99", Decimal("119.99")),
        (1299, Decimal("1299")),
        (19.99, Decimal("19.99")),
        ("1,299.00", Decimal("1299.00")),
        ("1e3", None),
        ("1e308", None),
        (1e20, None),  # a float str() writes as 1e+20
        (Decimal("1E+3"), None),  # a JSON 1e3 read with parse_float=Decimal
        ({"v": 1}, None),
        ([1], None),
        ("NaN", None),
        ("-5", None),
    ],
)
def test_structured_prices_are_plain_numbers_only(value, amount) -> None:
    assert money(value) == amount and structured_price(value, "CNY") == amount
