"""The HTTP conventions of the API: one error shape, JSON/CSV negotiation, ETag/Last-Modified from the snapshot."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.snapshots import NoSnapshot
from service.output import guard_formula
from storage.snapshot_queries import SearchKey, Table
from storage.snapshots import Snapshot

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    422: "invalid_parameter",
    500: "internal_error",
    503: "no_snapshot",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": code, "content": {JSON: {"example": {"error": {"code": code, "message": "…"}}}}}
    for status, code in _CODES.items()
    if status in (400, 404, 422, 503)
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code or _CODES.get(status, "error")


def error_response(
    status: int, code: str, message: str, details: list | None = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return Response(
        json.dumps({"error": body}, ensure_ascii=False),
        status_code=status,
        media_type=JSON,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(NoSnapshot)
    async def _no_snapshot(request: Request, exc: NoSnapshot) -> Response:
        return error_response(503, "no_snapshot", str(exc), headers={"Retry-After": "5"})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.url.path} (see /docs)"
        return error_response(
            exc.status_code,
            _CODES.get(exc.status_code, "error"),
            message,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "parameter": ".".join(str(p) for p in err.get("loc", ())[1:]) or "body",
                "in": str(err.get("loc", ("request",))[0]),
                "message": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        message = "; ".join(f"{d['parameter']} ({d['in']}): {d['message']}" for d in details)
        return error_response(422, "invalid_parameter", message or "invalid request", details)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        return error_response(
            500, "internal_error", f"internal error ({type(exc).__name__}); see the server log"
        )


def wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


@lru_cache(maxsize=16)
def cache_headers(snapshot: Snapshot, csv_format: bool) -> dict[str, str]:
    """The caching headers of a response from ``snapshot`` (computed once per snapshot: do not modify)."""
    return {
        "ETag": f'"{snapshot.id}{"-csv" if csv_format else ""}"',
        "Last-Modified": format_datetime(snapshot.published_at.replace(microsecond=0), usegmt=True),
        "Cache-Control": "no-cache",
        "Vary": "Accept",
        "X-Snapshot-Id": snapshot.id,
    }


def not_modified(request: Request, snapshot: Snapshot, csv_format: bool) -> Response | None:
    """A 304 when the client's copy came from this snapshot (If-None-Match, else If-Modified-Since)."""
    headers = cache_headers(snapshot, csv_format)
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return Response(status_code=304, headers=headers) if "*" in tags or headers["ETag"] in tags else None
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return None
        if since.tzinfo is not None and since >= snapshot.published_at.replace(microsecond=0):
            return Response(status_code=304, headers=headers)
    return None


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default, separators=(",", ":"))


def json_response(body: str | bytes, snapshot: Snapshot) -> Response:
    return Response(body, media_type=JSON, headers=cache_headers(snapshot, False))


def csv_response(
    table: Table,
    snapshot: Snapshot,
    filename: str,
    *,
    next_cursor: str | None = None,
    request: Request | None = None,
) -> Response:
    """The table as CSV (cells that a spreadsheet would run as a formula are guarded); a next page's cursor
    goes into ``X-Next-Cursor`` and a ``Link: <…>; rel="next"`` header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    headers = dict(cache_headers(snapshot, True))
    headers["Content-Disposition"] = f'inline; filename="{filename}.csv"'
    if next_cursor is not None:
        headers["X-Next-Cursor"] = next_cursor
        if request is not None:
            headers["Link"] = f'<{request.url.include_query_params(cursor=next_cursor)}>; rel="next"'
    return Response(out.getvalue(), media_type=CSV, headers=headers)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return guard_formula(value)
    return _default(value) if isinstance(value, Decimal | date) else value


def encode_cursor(sort: str, key: SearchKey) -> str:
    raw = json.dumps(
        [sort, key.snapshot_id, key.pkey, key.product_id, key.value],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> SearchKey:
    bad = ApiError(400, "cursor: not a cursor this API returned (use next_cursor as it is)")
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(value, list) or len(value) != 5:
        raise bad
    was_sort, snapshot_id, pkey, product_id, last = value
    if was_sort != sort:
        raise ApiError(400, f"cursor: it continues a search sorted by {was_sort!r}, not {sort!r}")
    if not (isinstance(snapshot_id, str) and isinstance(pkey, int) and isinstance(product_id, str)):
        raise bad
    if last is not None:
        if isinstance(last, bool) or not isinstance(last, int | float | str):
            raise bad
        try:
            number = Decimal(last)
        except (ArithmeticError, ValueError):
            raise bad from None
        if not number.is_finite():
            raise ApiError(422, f"cursor: its value {last!r} is not a finite number", "invalid_parameter")
        last = float(number)
    return SearchKey(snapshot_id, pkey, product_id, last)
