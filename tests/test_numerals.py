"""Chinese numerals read the same way by every parser (delivery promises, promotions)."""

from __future__ import annotations

import pytest

from core.numerals import cn_to_int
from core.prices import parse_delivery_hours
from core.promotions import normalise


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("一", 1),
        ("两", 2),
        ("十", 10),
        ("十五", 15),
        ("三十", 30),
        ("二十五", 25),
        ("一百", 100),
        ("二百零五", 205),
        ("一百五", 150),
        ("一千二", 1200),
        ("三千零五十", 3050),
        ("八五", 85),
    ],
)
def test_chinese_numerals(text: str, number: int) -> None:
    assert cn_to_int(text) == number


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        # a numeral with 十 is one number, not its last digit (三十分钟 was read as 十分钟, 十五天 as 五天)
        ("三十分钟达", 0.5),
        ("二十分钟送达", 20 / 60),
        ("十五天送达", 15 * 24),
        ("七至十五天", 7 * 24),
        ("预计十天", 10 * 24),
        # bare digits side by side are a range: its lower bound, like "3-5 days"
        ("一两天", 24),
        ("两三天送达", 48),
        ("半天达", 12),
    ],
)
def test_delivery_promises_in_chinese_numerals(text: str, hours: float) -> None:
    assert parse_delivery_hours(text) == pytest.approx(hours, abs=1e-4)  # hours are kept to 4 places


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("满二百减三十", "满200减30"),
        ("满一千减一百五", "满1000减150"),
        ("八五折", "85折"),
        ("第二件半价", "第2件5折"),
    ],
)
def test_promotion_texts_read_the_same_numerals(text: str, normalised: str) -> None:
    assert normalise(text) == normalised
