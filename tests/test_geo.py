"""Distances, delivery rules and the location ranking of one product's offers (price, arrival, best)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.geo import DeliveryRules, Point, arrival_text, haversine_km, parse_distance_km, parse_point, reach
from core.nearby import Candidate, Sort, rank

TIANANMEN = Point(39.9042, 116.4074)
GUOMAO = Point(39.9087, 116.4605)
LUJIAZUI = Point(31.2397, 121.4998)


def test_haversine_matches_known_distances():
    assert haversine_km(TIANANMEN, TIANANMEN) == 0
    assert haversine_km(TIANANMEN, GUOMAO) == pytest.approx(4.54, abs=0.05)
    # Beijing to Shanghai (Tiananmen to Lujiazui) is about 1,070 km as the crow flies
    assert haversine_km(TIANANMEN, LUJIAZUI) == pytest.approx(1068, abs=5)
    # a degree of latitude is 111.2 km everywhere
    assert haversine_km(Point(0, 0), Point(1, 0)) == pytest.approx(111.19, abs=0.01)


points = st.builds(Point, st.floats(-90, 90), st.floats(-180, 180))


@given(points, points, points)
def test_haversine_is_a_metric(a, b, c):
    assert haversine_km(a, b) == pytest.approx(haversine_km(b, a), abs=1e-6)
    assert 0 <= haversine_km(a, b) <= 20_016  # half the circumference
    assert haversine_km(a, c) <= haversine_km(a, b) + haversine_km(b, c) + 1e-6


@pytest.mark.parametrize(
    ("text", "point"), [("39.9042,116.4074", (39.9042, 116.4074)), (" -33.86 , 151.2 ", (-33.86, 151.2))]
)
def test_parse_point(text, point):
    assert parse_point(text) == point


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("39.9", "latitude,longitude"),
        ("north,east", "must be numbers"),
        ("91,116", "latitude 91.0 is not between"),
        ("39,181", "longitude 181.0"),
        ("nan,1", "latitude nan"),
    ],
)
def test_bad_points_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_point(text)


@pytest.mark.parametrize(
    ("text", "km"), [("3km", 3), ("800m", 0.8), ("2.5", 2.5), ("5 公里", 5), ("1500米", 1.5)]
)
def test_parse_distance(text, km):
    assert parse_distance_km(text) == pytest.approx(km)


@pytest.mark.parametrize("text", ["", "3 miles", "-1km", "0"])
def test_bad_distances(text):
    with pytest.raises(ValueError):
        parse_distance_km(text)


def test_reach_of_a_store_follows_the_delivery_rules():
    rules = DeliveryRules(default_radius_km=3, quoted_km=1, minutes_per_km=3)
    near = reach(TIANANMEN, GUOMAO.lat, GUOMAO.lng, 0.5, store_radius_km=5, rules=rules)
    assert near.in_range and near.distance_km == pytest.approx(4.54, abs=0.05)
    # the quote covers the first km; 3.54 km more at 3 min/km adds ~10.6 minutes
    assert near.arrival_hours == pytest.approx(0.5 + 3.54 * 3 / 60, abs=0.01)
    assert not reach(TIANANMEN, GUOMAO.lat, GUOMAO.lng, 0.5, rules=rules).in_range  # default 3 km radius
    assert not reach(TIANANMEN, GUOMAO.lat, GUOMAO.lng, 0.5, store_radius_km=5, max_km=4).in_range
    shipped = reach(TIANANMEN, None, None, 24)
    assert shipped.in_range and shipped.distance_km is None and shipped.arrival_hours == 24


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (0.5, "30 分钟"),
        (0.01, "1 分钟"),
        (3, "3 小时"),
        (24, "tomorrow"),
        (72, "3 days"),
        (None, "an unknown time"),
    ],
)
def test_arrival_text(hours, text):
    assert arrival_text(hours) == text


def offers():
    """A next-day marketplace offer, a dearer store 600 m away, a store out of range, one out of stock."""
    return [
        Candidate("techmall", "T1", Decimal("25.00"), seller="TechMall", delivery_hours=24),
        Candidate(
            "shandian",
            "P1@101",
            Decimal("28.00"),
            store="国贸店",
            delivery_hours=0.5,
            latitude=39.9087,
            longitude=116.4140,
        ),
        Candidate(
            "shandian",
            "P1@201",
            Decimal("20.00"),
            store="陆家嘴店",
            delivery_hours=0.5,
            latitude=LUJIAZUI.lat,
            longitude=LUJIAZUI.lng,
        ),
        Candidate("woomart", "W1", Decimal("19.00"), in_stock=False, delivery_hours=48),
    ]


def test_rank_by_price_arrival_and_best_with_reasons():
    ranking = rank(offers(), TIANANMEN, sort=Sort.price, value_of_time=Decimal("2"))
    assert [r.offer.listing_id for r in ranking.offers] == ["T1", "P1@101"]
    assert ranking.out_of_range == 1 and ranking.unavailable == 1
    assert ranking.cheapest.offer.listing_id == "T1" and ranking.fastest.offer.listing_id == "P1@101"
    store = ranking.fastest
    assert store.distance_km == pytest.approx(0.75, abs=0.01) and store.arrival_hours == pytest.approx(0.5)
    # ¥3 more for arriving 23.5 h sooner is worth it at ¥2/h (¥47)
    assert ranking.best is store
    assert ranking.reasons["fastest"].startswith(
        "¥3.00 more than the cheapest, arrives in 30 分钟 instead of tomorrow"
    )
    assert "23.5 h sooner is worth ¥47.00 at ¥2.00/h" in ranking.reasons["best"]
    by_arrival = rank(offers(), TIANANMEN, sort=Sort.arrival)
    assert [r.offer.listing_id for r in by_arrival.offers] == ["P1@101", "T1"]


def test_a_low_value_of_time_picks_the_cheapest_and_says_why():
    ranking = rank(offers(), TIANANMEN, value_of_time=Decimal("0.1"))
    assert ranking.best is ranking.cheapest
    assert ranking.reasons["best"].endswith("arriving sooner is not worth ¥3.00 more at ¥0.10/h")
    assert [r.offer.listing_id for r in ranking.offers] == ["T1", "P1@101"]


def test_shanghai_shopper_gets_the_shanghai_store():
    ranking = rank(offers(), Point(31.2400, 121.4990))
    assert ranking.cheapest.offer.listing_id == "P1@201" and ranking.best.offer.listing_id == "P1@201"
    assert ranking.out_of_range == 1
    assert "the best is the cheapest" in ranking.reasons["best"]


def test_no_buyable_offer_gives_no_choice():
    ranking = rank(offers()[2:], TIANANMEN)
    assert ranking.offers == [] and ranking.best is None and ranking.reasons == {}


@given(
    st.floats(0, 1000),
    st.lists(st.tuples(st.integers(1, 10_000), st.floats(0.1, 100)), min_size=1, max_size=8),
)
def test_best_never_costs_more_than_cheapest_plus_the_time_it_saves(vot, rows):
    cands = [Candidate("m", str(i), Decimal(p), delivery_hours=h) for i, (p, h) in enumerate(rows)]
    value = Decimal(str(vot)).quantize(Decimal("0.01"))
    r = rank(cands, TIANANMEN, value_of_time=value)
    assert r.best.score <= r.cheapest.score and r.best.score <= r.fastest.score
    assert r.cheapest.offer.landed_price == min(c.landed_price for c in cands)
    assert r.fastest.arrival_hours == min(c.delivery_hours for c in cands)
