"""The shopper's part of the API: ``near=`` on the product endpoint (a dependency ``api.app`` takes),
``POST /api/v1/basket``, the alerts Atom feed, and the static files of the page's shopper panels."""

from __future__ import annotations

import json
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.http import ERROR_RESPONSES, ApiError, dumps
from service.errors import UserError
from service.nearby import Where, rank_offers, where

router = APIRouter(responses=ERROR_RESPONSES)


async def nearby_query(
    near: Annotated[
        str | None,
        Query(
            max_length=60,
            description="`lat,lng` in degrees (e.g. `39.9042,116.4074`): add `nearby`, the offers ranked for a "
            "shopper there — store distance (haversine), arrival time, the cheapest / fastest / best pick "
            "with a one-line reason each.",
        ),
    ] = None,
    radius: Annotated[
        str | None, Query(max_length=20, description="With `near`: only stores this close (`3km`, `800m`).")
    ] = None,
    sort: Annotated[
        str, Query(max_length=10, description="With `near`: `price`, `arrival` or `best` (default).")
    ] = "best",
    value_of_time: Annotated[
        str | None,
        Query(
            max_length=20, description="With `near`: ¥ per hour of waiting saved; decides `best` (default 2)."
        ),
    ] = None,
) -> Where | None:
    """The location options of a request (``None`` without ``near``); a bad one is a 422 naming it."""
    if near is None:
        return None
    try:
        return where(near, radius, sort, value_of_time, prefix="")
    except UserError as exc:
        raise ApiError(422, str(exc), "invalid_parameter") from None


def with_nearby(page: str, place: Where) -> str:
    """A product page (JSON text) with ``nearby`` added: its offers ranked for ``place``."""
    offers = json.loads(page)["offers"]
    ranking = rank_offers(offers, place)
    nearby = {
        "near": {"lat": place.at.lat, "lng": place.at.lng},
        "radius_km": place.max_km,
        "sort": place.sort.value,
        "value_of_time": place.value_of_time,
        **ranking.to_dict(),
    }
    return page[:-1] + ',"nearby":' + dumps(nearby) + "}"


def _static(name: str, media_type: str) -> Response:
    body = resources.files("api").joinpath(f"static/{name}").read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/static/shopper.js", include_in_schema=False)
def shopper_js() -> Response:
    """The page's shopper panels (files, never inline: the page works under a strict CSP)."""
    return _static("shopper.js", "text/javascript; charset=utf-8")


@router.get("/static/shopper.css", include_in_schema=False)
def shopper_css() -> Response:
    return _static("shopper.css", "text/css; charset=utf-8")
