"""What every response of the storefront carries, and the limits every request meets.

**Headers.** Crawled text (titles, sellers, image and offer URLs) reaches the page only as JSON, but a
hostile shop will try to make it script. Every response says ``X-Content-Type-Options: nosniff``,
``Referrer-Policy: no-referrer`` and ``X-Frame-Options: DENY``, and has a Content-Security-Policy: JSON/CSV
``default-src 'none'``; an HTML page may run only its own script and style — the files it loads from
its own origin (or the hosts it names, e.g. the docs page's CDN) and its inline blocks by SHA-256 hash — so
an injected ``<script>``, an ``onerror=`` attribute or a ``javascript:`` link never runs, even where the
page forgets to escape. No ``'unsafe-inline'``, no ``'unsafe-eval'``.

**Limits** (per worker process; the reverse proxy in front sets its own, see docs/api.md): at most
``max_concurrency`` requests in flight — beyond that a 503 in the API's error shape with ``Retry-After``,
at once, so a burst degrades with fast refusals instead of timeouts; request line + headers at most
``MAX_HEADER_BYTES`` (431), URL at most ``MAX_URL_BYTES`` (414), a declared body at most ``MAX_BODY_BYTES``
(413). The API only reads.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI

from api.http import error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_URL_BYTES = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024
MAX_BODY_BYTES = 64 * 1024
DEFAULT_MAX_CONCURRENCY = 64
CONCURRENCY_ENV = "BIJIA_API_MAX_CONCURRENCY"
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_INLINE_STYLE = re.compile(rb"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_SCRIPT_SRC = re.compile(rb"<script[^>]*\bsrc\s*=\s*[\"']([^\"']+)", re.IGNORECASE)
_STYLE_HREF = re.compile(
    rb"<link[^>]*\brel\s*=\s*[\"']?stylesheet[^>]*\bhref\s*=\s*[\"']([^\"']+)", re.IGNORECASE
)


def install_security(app: FastAPI, *, max_concurrency: int | None = None) -> None:
    """Add the headers and the limits to ``app`` (``max_concurrency`` default: ``BIJIA_API_MAX_CONCURRENCY``,
    else 64; 0 means no limit)."""
    if max_concurrency is None:
        max_concurrency = int(os.environ.get(CONCURRENCY_ENV) or DEFAULT_MAX_CONCURRENCY)
    app.add_middleware(Guard, max_concurrency=max_concurrency)


@lru_cache(maxsize=32)
def page_policy(html: bytes) -> str:
    """The CSP of one HTML document: its own origin, the hosts it loads from, its inline blocks by hash."""
    scripts = ["'self'", *_origins(_SCRIPT_SRC.findall(html)), *_hashes(_INLINE_SCRIPT.findall(html))]
    styles = ["'self'", *_origins(_STYLE_HREF.findall(html)), *_hashes(_INLINE_STYLE.findall(html))]
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(scripts)}",
            f"style-src {' '.join(styles)}",
            "img-src 'self' data: https: http:",
            "connect-src 'self'",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _hashes(blocks: list[bytes]) -> list[str]:
    return sorted({f"'sha256-{base64.b64encode(hashlib.sha256(b).digest()).decode()}'" for b in blocks})


def _origins(urls: list[bytes]) -> list[str]:
    found = set()
    for url in urls:
        parts = urlsplit(url.decode("utf-8", "replace"))
        if parts.scheme in ("http", "https") and parts.netloc:
            found.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(found)


class Guard:
    """The ASGI middleware: limits on the way in, headers on the way out."""

    def __init__(self, app: ASGIApp, max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        self.app = app
        self.max_concurrency = max_concurrency
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, _with_headers(send))
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, _with_headers(send))
        finally:
            self.in_flight -= 1

    def _refusal(self, scope: Scope) -> Any:
        url = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
        if url > MAX_URL_BYTES:
            return error_response(414, "uri_too_long", f"the URL has {url} bytes; at most {MAX_URL_BYTES}")
        headers = scope.get("headers", [])
        size = sum(len(k) + len(v) + 4 for k, v in headers)
        if size > MAX_HEADER_BYTES:
            return error_response(
                431, "headers_too_large", f"the request headers have {size} bytes; at most {MAX_HEADER_BYTES}"
            )
        length = next((v for k, v in headers if k == b"content-length"), b"0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return error_response(
                413, "body_too_large", f"a request body may have at most {MAX_BODY_BYTES} bytes"
            )
        if self.max_concurrency and self.in_flight >= self.max_concurrency:
            return error_response(
                503,
                "overloaded",
                f"the server is busy ({self.in_flight} requests in progress); retry in a second",
                headers={"Retry-After": "1"},
            )
        return None


def _with_headers(send: Send) -> Send:
    """``send`` adding the security headers; an HTML response waits for its body to hash its inline blocks."""
    held: list[Message] = []

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
            message["headers"] = headers + COMMON
            if _is_html(headers):
                held.append(message)
                return
            message["headers"].append((b"content-security-policy", API_CSP.encode()))
        elif held and message["type"] == "http.response.body":
            body = bytes(message.get("body", b""))
            if message.get("more_body"):  # a streamed page: no hashes, its own script only
                held[0]["headers"].append((b"content-security-policy", page_policy(b"").encode()))
            else:
                held[0]["headers"].append((b"content-security-policy", page_policy(body).encode()))
            await send(held.pop())
        await send(message)

    return wrapped


_OURS = {k for k, _ in COMMON} | {b"content-security-policy"}


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in headers)
