"""One HTTP GET outside Scrapy (``bijia marketplaces add`` / ``check``) with the crawler's guards.

* The URL policy (``crawler.urlpolicy``) on the URL and on every redirect: a shop cannot send the probe
  to ``169.254.169.254`` or to another local service.
* A **total** deadline: urllib's ``timeout`` is per socket operation, so a page that drips a byte a
  second would be read for ever; here the whole GET ends at ``timeout`` seconds.
* A size cap on the body, before and after gzip: a 50 MB page or a gzip bomb ends at ``max_bytes``.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO, Any

from crawler.urlpolicy import UrlPolicy

CHUNK = 65536
DEFAULT_MAX_BYTES = 32 * 2**20


class FetchError(Exception):
    """The GET failed; the message says why. ``status`` is the HTTP status of an HTTP error, else 0."""

    def __init__(self, message: str, status: int = 0, content_type: str = "") -> None:
        super().__init__(message)
        self.status, self.content_type = status, content_type


@dataclass
class Got:
    url: str
    status: int
    content_type: str
    body: bytes


class _PolicyRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, policy: UrlPolicy) -> None:
        self.policy = policy

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        refusal = self.policy.refusal(newurl)
        if refusal is not None:
            raise FetchError(f"redirected to {newurl}: refused ({refusal.replace('_', ' ')})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def bounded_get(
    url: str, *, policy: UrlPolicy, agent: str, timeout: float, max_bytes: int = DEFAULT_MAX_BYTES
) -> Got:
    """GET ``url`` within ``timeout`` seconds in all and ``max_bytes``; raises ``FetchError``."""
    refusal = policy.refusal(url)
    if refusal is not None:
        raise FetchError(f"refused ({refusal.replace('_', ' ')}): {url}")
    outcome: dict[str, Any] = {}
    stop = threading.Event()  # set at the deadline, or by the reader itself when it finds it passed
    deadline = time.monotonic() + timeout

    def work() -> None:
        try:
            outcome["got"] = _get(url, policy, agent, deadline, max_bytes, stop)
        except FetchError as exc:
            outcome["error"] = exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            outcome["error"] = FetchError(f"cannot fetch: {getattr(exc, 'reason', exc)}")

    worker = threading.Thread(target=work, name="bijia-get", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or stop.is_set():
        stop.set()  # the worker drops the connection at its next read
        raise FetchError(f"cannot fetch: no complete answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["got"]


def _get(
    url: str, policy: UrlPolicy, agent: str, deadline: float, max_bytes: int, stop: threading.Event
) -> Got:
    opener = urllib.request.build_opener(_PolicyRedirects(policy))
    request = urllib.request.Request(url, headers={"User-Agent": agent, "Accept-Encoding": "gzip"})
    try:
        response = opener.open(request, timeout=max(0.1, deadline - time.monotonic()))
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code}", exc.code, exc.headers.get("Content-Type", "")) from None
    with response:
        gzipped = response.headers.get("Content-Encoding", "").lower() == "gzip"
        body = _read(response, deadline, max_bytes, stop, gzipped)
        return Got(response.url, response.status, response.headers.get("Content-Type", ""), body)


def _read(response: Any, deadline: float, max_bytes: int, stop: threading.Event, gzipped: bool) -> bytes:
    """The body, a chunk at a time (``read1``: one socket read each, so a drip cannot hold a read)."""
    inflate = zlib.decompressobj(wbits=47) if gzipped else None  # 47: gzip or zlib header
    parts: list[bytes] = []
    size = 0
    while True:
        if stop.is_set() or time.monotonic() > deadline:
            stop.set()
            raise FetchError("too slow")  # bounded_get says so, with the timeout
        chunk = response.read1(CHUNK)
        if not chunk:
            break
        if inflate is not None:
            chunk = inflate.decompress(chunk, max_bytes - size + 1)
            if inflate.unconsumed_tail:
                size = max_bytes + 1
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"the answer is larger than {max_bytes // 2**20} MB")
        parts.append(chunk)
    return b"".join(parts)
