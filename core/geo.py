"""Where a shopper is, how far a store is, and when its delivery arrives.

Distances are great-circle (haversine) distances on a sphere of the Earth's mean radius: what a delivery
radius means in instant retail (3 km "as the crow flies"), not a route length.

Delivery-time rules (``DeliveryRules``, defaults documented in ``docs/shopper.md``): an instant-retail
store quotes one time for its neighbourhood (``30分钟达``: the offer's ``delivery_hours``); that quote covers
the first ``quoted_km``, and each kilometre further adds ``minutes_per_km`` of riding. A store delivers no
farther than its own ``delivery_radius_km`` (else ``default_radius_km``). Offers without coordinates are
shipped: they arrive after their ``delivery_hours`` wherever the shopper is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

EARTH_RADIUS_KM = 6371.0088
"""The mean Earth radius (IUGG)."""
_DISTANCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km|公里|千米|m|米)?\s*$", re.IGNORECASE)


class Point(NamedTuple):
    lat: float
    lng: float

    def __str__(self) -> str:
        return f"{self.lat:.6g},{self.lng:.6g}"


def parse_point(text: str) -> Point:
    """``"39.9042,116.4074"`` (latitude, longitude in degrees) → ``Point``; a ``ValueError`` saying what is
    wrong otherwise."""
    parts = [p.strip() for p in str(text).replace("，", ",").split(",")]
    if len(parts) != 2:
        raise ValueError(f"{text!r}: give latitude,longitude in degrees, e.g. 39.9042,116.4074")
    try:
        lat, lng = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"{text!r}: latitude and longitude must be numbers, e.g. 39.9042,116.4074") from None
    return checked_point(lat, lng)


def checked_point(lat: float, lng: float) -> Point:
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise ValueError(f"latitude {lat} is not between -90 and 90")
    if not (math.isfinite(lng) and -180 <= lng <= 180):
        raise ValueError(f"longitude {lng} is not between -180 and 180")
    return Point(lat, lng)


def parse_distance_km(text: str) -> float:
    """``"3km"``, ``"3 公里"``, ``"800m"``, ``"2.5"`` (km) → kilometres (> 0)."""
    match = _DISTANCE.match(str(text))
    if not match:
        raise ValueError(f"{text!r}: give a distance such as 3km, 800m or 2.5")
    value = float(match.group(1))
    if (match.group(2) or "km").lower() in ("m", "米"):
        value /= 1000
    if value <= 0:
        raise ValueError(f"{text!r}: the distance must be more than 0")
    return value


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance between two points, in km."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlng = lat2 - lat1, math.radians(b.lng - a.lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class DeliveryRules:
    default_radius_km: float = 3.0
    """A store's delivery radius when it states none (the common 3 km of instant retail)."""
    quoted_km: float = 1.0
    """The store's quoted time covers this first distance."""
    minutes_per_km: float = 3.0
    """Riding time for each km beyond ``quoted_km`` (a courier at 20 km/h)."""
    default_quote_hours: float = 0.5
    """A store's quote when it states none (30 minutes)."""


DEFAULT_RULES = DeliveryRules()


@dataclass(frozen=True)
class Reach:
    """Whether and when an offer reaches the shopper."""

    distance_km: float | None
    """From the shopper to the store; ``None`` for a shipped offer (no coordinates)."""
    arrival_hours: float | None
    """``None``: the offer states no delivery time."""
    in_range: bool
    radius_km: float | None
    """The radius that applied (the store's, capped by the shopper's)."""


def reach(
    at: Point,
    latitude: float | None,
    longitude: float | None,
    delivery_hours: float | None,
    store_radius_km: float | None = None,
    max_km: float | None = None,
    rules: DeliveryRules = DEFAULT_RULES,
) -> Reach:
    """How an offer reaches a shopper at ``at``: a store's distance, range and arrival time by the rules,
    or a shipped offer's stated delivery time. ``max_km``: the shopper's own limit for stores."""
    if latitude is None or longitude is None:
        return Reach(None, delivery_hours, True, None)
    distance = haversine_km(at, Point(latitude, longitude))
    radius = store_radius_km if store_radius_km and store_radius_km > 0 else rules.default_radius_km
    if max_km is not None:
        radius = min(radius, max_km)
    quote = delivery_hours if delivery_hours is not None else rules.default_quote_hours
    extra_minutes = max(0.0, distance - rules.quoted_km) * rules.minutes_per_km
    return Reach(round(distance, 3), round(quote + extra_minutes / 60, 4), distance <= radius, radius)


def arrival_text(hours: float | None) -> str:
    """A delivery time as a shopper reads it: ``30 分钟``, ``3 小时``, ``tomorrow``, ``3 days``."""
    if hours is None:
        return "an unknown time"
    if hours < 1:
        return f"{max(1, round(hours * 60))} 分钟"
    if hours < 20:
        return f"{hours:.1f}".rstrip("0").rstrip(".") + " 小时"
    if hours <= 36:
        return "tomorrow"
    return f"{max(2, round(hours / 24))} days"


def arrives(hours: float | None) -> str:
    """``arrives …``: ``in 30 分钟``, ``tomorrow``, ``in 3 days``, ``at an unknown time``."""
    text = arrival_text(hours)
    if hours is None:
        return "at " + text
    return text if text == "tomorrow" else "in " + text
