"""Property-based tests (hypothesis) for price parsing — down to the price a crawl stores — and the
matcher's title normaliser."""

from __future__ import annotations

import json
import math
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from core.prices import parse_delivery_hours, parse_price, parse_shipping
from crawler.config import Marketplace
from crawler.pipelines import PricePipeline, ValidatePipeline
from matching.normalise import fold, normalise_title
from spiders.pages import jsonld
from storage import connect
from storage.offers import stage_offers, start_run

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
        assert parsed.reason in ("missing", "masked", "unparsed", "scientific", "not_text")
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


# ------------------------------------------------------------------ structured prices, as stored

DROP_REASONS = {
    "no_price",
    "price_not_positive",
    "price_absurd",
    "price_rounds_to_zero",
    "price_scientific_notation",
    "price_not_a_number",
}
MARKET = Marketplace(name="shop", shape="jsonld", base_url="http://127.0.0.1:1/shop/")
plain_numbers = st.from_regex(r"-?[0-9]{1,19}(\.[0-9]{1,6})?", fullmatch=True)
structured = st.one_of(
    plain_numbers,
    st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?[eE][+-]?[0-9]{1,3}", fullmatch=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e8"), places=4, allow_nan=False),
    st.text(max_size=12),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)


def numeric_meaning(value: object) -> Decimal | None:
    """The amount a plain number means (``None`` for text that is no plain number, objects, specials); a
    list means its first value, as JSON-LD values may be lists."""
    if isinstance(value, list):
        return numeric_meaning(value[0]) if value else None
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if "e" not in repr(value) else None
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
        return Decimal(value)
    return None


def as_json(value: object) -> str:
    return str(value) if isinstance(value, Decimal) else json.dumps(value)


@pytest.fixture(scope="module")
def staging(tmp_path_factory):
    con = connect(tmp_path_factory.mktemp("props") / "p.duckdb")
    start_run(con, "r1", "crawl", ["shop"])
    yield con
    con.close()


@SETTINGS
@given(value=structured)
@example(value="1e308")
@example(value="1e3")
@example(value={"v": 1})
@example(value=0.001)
@example(value="0.004")
@example(value="99999999999999999")
@example(value=Decimal("0.005"))
def test_a_structured_price_is_stored_as_what_it_means_or_dropped_with_a_reason(staging, value):
    """A JSON-LD ``price`` through extraction, both pipelines and the staging write: either the offer is
    dropped with a known reason, or the price read back from the database is positive, at most the
    maximum, in cents, and — for a plain number — that number rounded to cents."""
    page = (
        '<script type="application/ld+json">{"@type": "Product", "name": "Kettle", "sku": "K", '
        f'"offers": {{"price": {as_json(value)}, "priceCurrency": "CNY"}}}}</script>'
    )
    [offer] = jsonld.extract_offers(page, "http://127.0.0.1:1/shop/p/k", MARKET) or [None]
    assume(offer is not None)  # not JSON at all (NaN as text): no product on the page
    offer.listing_id = uuid.uuid4().hex
    PricePipeline().process_item(offer)
    reason = ValidatePipeline().problem(offer)
    if reason is not None:
        assert reason in DROP_REASONS
        return
    ValidatePipeline().process_item(offer)
    assert stage_offers(staging, "r1", [offer], on_reject=lambda o, e: pytest.fail(e)) == 1
    (stored,) = staging.execute(
        "SELECT price FROM staging_offers WHERE listing_id = ?", [offer.listing_id]
    ).fetchone()
    assert Decimal("0.01") <= stored <= Decimal(10_000_000) and stored == stored.quantize(Decimal("0.01"))
    # scientific notation is refused ("1e3"); a letter after the number ("1E") is only text around it
    assert not (
        isinstance(value, str) and re.search(r"\d[eE][+-]?\d", value) and numeric_meaning(value) is None
    )
    assert not isinstance(value, dict)
    meaning = numeric_meaning(value)
    if meaning is not None:
        assert stored == meaning.quantize(Decimal("0.01"), ROUND_HALF_UP)


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
