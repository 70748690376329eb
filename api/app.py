"""The storefront API: FastAPI over the current published snapshot (read-only), plus a small HTML page."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import duckdb
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import (
    ERROR_RESPONSES,
    ApiError,
    csv_response,
    decode_cursor,
    dumps,
    encode_cursor,
    install_error_handlers,
    json_response,
    not_modified,
    wants_csv,
)
from api.schemas import (
    CompareResponse,
    HistoryResponse,
    MarketplacesResponse,
    ProductResponse,
    SearchResponse,
)
from api.security import install_security
from api.shopper import nearby_query, with_nearby
from api.shopper import router as shopper_router
from api.snapshots import Reading, SnapshotManager
from service.nearby import Where
from service.vocabulary import search_synonyms
from storage import snapshot_queries as queries
from storage.search import parse_query
from storage.search_rank import Criteria

MAX_QUERY = 100
MAX_PAGE = 100
MAX_COMPARE = 50
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="`json` (default) or `csv`; `Accept: text/csv` also selects CSV."),
]
ProductId = Annotated[str, Query(min_length=1, max_length=200)]

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


def _today(cur: duckdb.DuckDBPyConnection, cache: dict) -> date:
    """The snapshot's day (in the zone it was built in): history windows count back from it."""
    if "today" not in cache:
        cache["today"] = queries.snapshot_day(cur)
    return cache["today"]


def _manager(request: Request) -> SnapshotManager:
    return request.app.state.snapshots


Sort = Literal["relevance", "price", "saving", "id"]


@router.get("/products", summary="Search products", tags=["products"], response_model=SearchResponse)
def search(
    request: Request,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY,
            description=(
                "Words to find in the product's or any of its offers' titles, Chinese or English (every word "
                "must match; Latin words match as prefixes; brand and category words in either language), or "
                "a GTIN/EAN/UPC or model number."
            ),
        ),
    ] = None,
    brand: Annotated[
        str | None, Query(max_length=100, description="Brand, any case and any alias (苹果 = Apple).")
    ] = None,
    category: Annotated[
        str | None, Query(max_length=100, description="Category word in Chinese or English (手机 = phones).")
    ] = None,
    gtin: Annotated[
        str | None,
        Query(max_length=40, description="Only products with this GTIN/EAN/UPC (UPC-A = its EAN-13)."),
    ] = None,
    sort: Annotated[
        Sort | None,
        Query(
            description="`relevance` (default with `q`), `price` (lowest landed price first), `saving` "
            "(biggest saving first) or `id` (stable; default without `q`)."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=500, description="`next_cursor` of the previous page (JSON or CSV).")
    ] = None,
    format: Format = None,
) -> Response:
    """Products matching a text query and filters, in pages (cursor pagination, stable product ids).
    `count` is the number of matching products (all pages); CSV pages carry the next cursor in a
    `Link: <…>; rel="next"` header and `X-Next-Cursor`."""
    if q and q.strip() and not (parse_query(q).terms or parse_query(q).identifiers):
        raise ApiError(
            422, f"q: {q[:40]!r} has no letter, digit or Chinese character to search for", "invalid_parameter"
        )
    order = sort or ("relevance" if q and q.strip() else "id")
    after = decode_cursor(cursor, order) if cursor else None
    csv_format = wants_csv(request, format)
    with _manager(request).acquire() as (snap, cur, cache):
        if (hit := not_modified(request, snap, csv_format)) is not None:
            return hit
        index = cache.get("search")
        if index is None:
            index = cache["search"] = queries.load_index(cur)
        page = queries.search_products(
            cur,
            Criteria(q, brand, category, gtin),
            sort=order,
            after=after,
            limit=limit,
            index=index,
            synonyms=search_synonyms(),
            table=csv_format,
        )
    nxt = encode_cursor(order, page.next_key) if page.next_key else None
    if csv_format:
        return csv_response(page.table, snap, "products", next_cursor=nxt, request=request)
    body = (
        f'{{"snapshot":{dumps(snap.id)},"count":{page.total},"sort":{dumps(order)},'
        f'"next_cursor":{dumps(nxt)},"items":[{",".join(page.summaries)}]}}'
    )
    return json_response(body, snap)


@router.get(
    "/products/{product_id}",
    summary="One product with every offer",
    tags=["products"],
    response_model=ProductResponse,
)
async def product(
    request: Request,
    product_id: str,
    format: Format = None,
    near: Annotated[Where | None, Depends(nearby_query)] = None,
) -> Response:
    """The product and each of its live offers, ranked: available first, fresh first, then by landed price
    (final price after coupon + shipping). CSV: the offers table."""
    csv_format = wants_csv(request, format)
    with _manager(request).acquire() as (snap, cur, _):
        if (hit := not_modified(request, snap, csv_format)) is not None:
            return hit
        if csv_format:
            table = queries.product_offers(cur, product_id)
            if table is not None:
                return csv_response(table, snap, product_id)
        else:
            page = queries.product_page(cur, product_id)
            if page is not None:
                return json_response(page if near is None else with_nearby(page, near), snap)
    raise ApiError(404, f"no product {product_id!r} in snapshot {snap.id}")


@router.get(
    "/compare", summary="Compare products side by side", tags=["products"], response_model=CompareResponse
)
def compare(
    request: Request,
    ids: Annotated[
        list[str],
        Query(description=f"Product ids (repeat `ids=` or separate with commas; at most {MAX_COMPARE})."),
    ],
    format: Format = None,
) -> Response:
    """For each product, its best offer on each marketplace (cheapest first). Unknown ids are listed under
    `missing`; 404 when none is known."""
    wanted = [p.strip() for item in ids for p in item.split(",") if p.strip()]
    if not wanted:
        raise ApiError(422, "ids: give at least one product id", "invalid_parameter")
    if len(wanted) > MAX_COMPARE:
        raise ApiError(
            422, f"ids: at most {MAX_COMPARE} products at once (got {len(wanted)})", "invalid_parameter"
        )
    csv_format = wants_csv(request, format)
    with _manager(request).acquire() as (snap, cur, _):
        if (hit := not_modified(request, snap, csv_format)) is not None:
            return hit
        table, summaries, missing = queries.compare_products(cur, wanted)
    if not summaries:
        raise ApiError(404, f"none of the products {', '.join(wanted[:5])} is in snapshot {snap.id}")
    if csv_format:
        return csv_response(table, snap, "compare")
    by_product: dict[str, list[dict]] = {}
    for row in table.dicts():
        pid = row.pop("product_id")
        row.pop("product_title")
        by_product.setdefault(pid, []).append(row)
    products = ",".join(
        s[:-1] + f',"best_per_marketplace":{dumps(by_product.get(pid, []))}}}'
        for pid, s in zip([p for p in dict.fromkeys(wanted) if p not in missing], summaries, strict=True)
    )
    return json_response(
        f'{{"snapshot":{dumps(snap.id)},"products":[{products}],"missing":{dumps(missing)}}}', snap
    )


Days = Annotated[int, Query(ge=1, le=3650, description="How many days back (the snapshot's day included).")]


@router.get(
    "/products/{product_id}/history",
    summary="Price history of a product",
    tags=["history"],
    response_model=HistoryResponse,
)
def product_history(request: Request, product_id: str, days: Days = 90, format: Format = None) -> Response:
    """Daily lows of the product's price after coupon (display currency) over all its offers and per
    marketplace (`series`), with the reference price: the lowest daily low in the 30 days before the
    current price took effect (`real_discount`: the price now is below it)."""
    csv_format = wants_csv(request, format)
    with _manager(request).acquire() as (snap, cur, cache):
        if (hit := not_modified(request, snap, csv_format)) is not None:
            return hit
        history = queries.product_history(cur, product_id, days, today=_today(cur, cache))
    if history is None:
        raise ApiError(404, f"no product {product_id!r} in snapshot {snap.id}")
    if csv_format:
        return csv_response(history.table, snap, f"{product_id}-history")
    series = [
        {"marketplace": m, "days": [{"date": d, "low": low} for d, low in points]}
        for m, points in history.series.items()
    ]
    body = {"snapshot": snap.id, "product_id": history.product_id, **history.facts}
    return json_response(dumps(body | {"days": history.table.dicts(), "series": series}), snap)


@router.get(
    "/offers/history", summary="Price history of one offer", tags=["history"], response_model=HistoryResponse
)
def offer_history(
    request: Request,
    marketplace: Annotated[str, Query(min_length=1, max_length=100)],
    listing_id: Annotated[str, Query(min_length=1, max_length=500)],
    days: Days = 90,
    format: Format = None,
) -> Response:
    """Daily low/high price after coupon of one listing (its own currency), with its reference price: the
    lowest price it showed in the 30 days before its current price took effect."""
    csv_format = wants_csv(request, format)
    with _manager(request).acquire() as (snap, cur, cache):
        if (hit := not_modified(request, snap, csv_format)) is not None:
            return hit
        history = queries.offer_history(cur, marketplace, listing_id, days, today=_today(cur, cache))
    if history is None:
        raise ApiError(404, f"no offer {marketplace}/{listing_id} in snapshot {snap.id}")
    if csv_format:
        return csv_response(history.table, snap, f"{marketplace}-{listing_id}-history")
    return json_response(
        dumps(
            {
                "snapshot": snap.id,
                "marketplace": marketplace,
                "listing_id": listing_id,
                "product_id": history.product_id,
                **history.facts,
                "days": history.table.dicts(),
            }
        ),
        snap,
    )


@router.get(
    "/marketplaces",
    summary="Marketplaces and their last successful crawl",
    tags=["marketplaces"],
    response_model=MarketplacesResponse,
)
def marketplaces(request: Request, format: Format = None) -> Response:
    csv_format = wants_csv(request, format)
    with _manager(request).acquire() as (snap, cur, _):
        if (hit := not_modified(request, snap, csv_format)) is not None:
            return hit
        table = queries.marketplaces(cur)
    if csv_format:
        return csv_response(table, snap, "marketplaces")
    return json_response(dumps({"snapshot": snap.id, "marketplaces": table.dicts()}), snap)


@router.get("/health", summary="Health and the snapshot being served", tags=["health"])
def health(request: Request) -> Response:
    """200 with the snapshot served; 503 (error shape) when no snapshot has been published."""
    with _manager(request).acquire() as (snap, cur, _):
        info = queries.snapshot_info(cur)
    age = (datetime.now(UTC) - snap.published_at).total_seconds()
    info.pop("snapshot_id")
    body = {
        "status": "ok",
        "snapshot": {
            "id": snap.id,
            "published_at": snap.published_at.isoformat(),
            "age_seconds": round(age, 1),
            **info,
        },
    }
    return Response(dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"})


def _warm(reading: Reading) -> None:
    """Before a snapshot serves: the search arrays, and a first read of the indexes the lookups use. Then
    ``gc.freeze()``: a full (generation 2) collection over the app's ~70,000 objects took 35 ms of CPU,
    every few thousand requests, stalling every request of that worker meanwhile."""
    reading.cache["search"] = queries.load_index(reading.cur)
    queries.product_page(reading.cur, "")
    queries.search_products(reading.cur, Criteria("a"), index=reading.cache["search"])
    gc.freeze()  # the app's and this snapshot's long-lived objects: a full collection no longer walks them


def create_app(
    snapshots_dir: Path,
    *,
    check_interval: float = 0.5,
    duckdb_threads: int | None = 1,
    memory_limit: str | None = None,
    cors_origins: list[str] | None = None,
) -> FastAPI:
    """The API reading the snapshots published in ``snapshots_dir`` (picks up new ones without a restart).

    ``duckdb_threads``: DuckDB threads per snapshot connection (``None``: DuckDB's default, one per core).
    1 by default: the API's queries are point lookups, which a thread pool only slows down (~10 % more CPU per
    request); scale with uvicorn workers instead. ``cors_origins``: origins allowed to read the API from a
    browser (default: ``BIJIA_API_CORS_ORIGINS``, comma-separated; none)."""
    manager = SnapshotManager(
        snapshots_dir,
        check_interval=check_interval,
        threads=duckdb_threads,
        memory_limit=memory_limit,
        warm=_warm,
        background=check_interval > 0,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        manager.close()

    app = FastAPI(
        title="bijia storefront API",
        version="1",
        lifespan=lifespan,
        description="Price comparison across marketplaces, read from the latest published snapshot. "
        'Every error is `{"error": {"code", "message"}}`. Responses carry an ETag '
        "and Last-Modified from the snapshot; a matching If-None-Match gives 304. Prices are decimal "
        "strings; `*_price` of a product are in its `currency` (the display currency), an offer's own "
        "prices in the offer's `currency`. Docs: /docs (Swagger UI), /redoc.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.snapshots = manager
    install_security(app)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(shopper_router)
    static = resources.files("api").joinpath("static")
    pages = {name: static.joinpath(name).read_text(encoding="utf-8") for name in _PAGES.values()}
    for path, name in _PAGES.items():
        app.add_api_route(path, _page(pages[name]), methods=["GET"], include_in_schema=False)
    app.mount("/static/vendor", StaticFiles(directory=_vendor_dir()), name="vendor")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    origins = cors_origins if cors_origins is not None else _env_list("BIJIA_API_CORS_ORIGINS")
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD"],
            allow_headers=["Accept", "If-None-Match", "If-Modified-Since"],
            expose_headers=["ETag", "Last-Modified", "X-Snapshot-Id", "X-Next-Cursor", "Link"],
        )
    app.add_middleware(HeadAsGet)
    return app


_PAGES = {"/": "index.html", "/docs": "docs.html", "/redoc": "redoc.html"}


def _page(html: str) -> Callable[[], HTMLResponse]:
    def page() -> HTMLResponse:
        return HTMLResponse(html)

    return page


def _vendor_dir() -> str:
    """Swagger UI and ReDoc as the pinned ``fastapi-offline`` package ships them (no CDN)."""
    return str(resources.files("fastapi_offline").joinpath("static"))


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


class HeadAsGet:
    """``HEAD`` on every GET route: answered as the GET would be, without the body (RFC 9110 § 9.3.2)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body"):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (and for ``workers > 1``): settings from ``BIJIA_*`` variables."""
    threads = os.environ.get("BIJIA_API_DUCKDB_THREADS", "1")
    return create_app(
        Path(os.environ["BIJIA_SNAPSHOTS_DIR"]),
        duckdb_threads=int(threads) or None,
        memory_limit=os.environ.get("BIJIA_API_MEMORY_LIMIT"),
    )
