"""The shopper's part of the API: ``near=`` on the product endpoint (a dependency ``api.app`` takes),
``POST /api/v1/basket``, the alerts Atom feed, and the static files of the page's shopper panels."""

from __future__ import annotations

import json
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.http import ERROR_RESPONSES, ApiError, dumps
from service.alerts import FEED_NAME
from service.basket import Item, plan_for
from service.errors import UserError
from service.nearby import Where, rank_offers, where
from storage.shopper_queries import product_titles, snapshot_product_offers

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


class BasketItem(BaseModel):
    product_id: str = Field(min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1, le=999)


class BasketRequest(BaseModel):
    items: list[BasketItem] = Field(min_length=1, max_length=100)
    near: str | None = Field(
        default=None, max_length=60, description="`lat,lng`: instant-retail stores that reach it take part."
    )
    radius: str | None = Field(
        default=None, max_length=20, description="With `near`: only stores this close (`3km`)."
    )
    method: str = Field(default="auto", pattern="^(auto|exact|heuristic)$")


@router.post("/api/v1/basket", summary="The cheapest way to buy several products", tags=["shopper"])
def post_basket(request: Request, body: BasketRequest) -> Response:
    """Buy every item (with its quantity) across marketplaces and stores for the least money: each shop's
    shipping counted once, 包邮 thresholds, store and cross-store promotions. Returns the plan per shop and
    the saving against buying each item at its own cheapest offer. Exact up to 20 products × 10 shops."""
    quantities: dict[str, int] = {}
    for item in body.items:
        quantities[item.product_id] = quantities.get(item.product_id, 0) + item.quantity
    items = [Item(pid, qty) for pid, qty in quantities.items()]
    try:
        place = where(body.near, body.radius, prefix="") if body.near else None
    except UserError as exc:
        raise ApiError(422, str(exc), "invalid_parameter") from None
    with request.app.state.snapshots.acquire() as (snap, cur, _):
        wanted = list(quantities)
        titles = product_titles(cur, wanted, snapshot=True)
        offers = snapshot_product_offers(cur, wanted)
    try:
        plan = plan_for(items, titles, offers, place, body.method)
    except UserError as exc:
        raise ApiError(404 if str(exc).startswith("no product") else 422, str(exc)) from None
    return Response(
        dumps({"snapshot": snap.id, **plan.to_dict()}),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "X-Snapshot-Id": snap.id},
    )


@router.get("/alerts.atom", summary="The alerts as an Atom feed", tags=["shopper"])
def alerts_feed(request: Request) -> Response:
    """The watched products' alerts (and the firehose's, when it is on), newest first, as written by the
    last ``bijia run`` beside the snapshots."""
    path = request.app.state.snapshots.snapshots_dir / FEED_NAME
    try:
        stat = path.stat()
        body = path.read_bytes()
    except FileNotFoundError:
        raise ApiError(404, "no alerts feed yet: `bijia run` writes it after a run with alerts") from None
    etag = f'"feed-{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/atom+xml; charset=utf-8", headers=headers)


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
