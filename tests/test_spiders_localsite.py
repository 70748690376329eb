"""A tiny shop on 127.0.0.1 for real crawls (``LocalSite``), and ``crawl()``: ``bijia crawl`` in a
subprocess (Scrapy's reactor runs once per process) against a marketplaces file, returning the stored
offers. Used by the encoding, politeness and marketplaces tests."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIJIA = [sys.executable, "-c", "from cli import app; app()"]


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    at: float


@dataclass
class LocalSite:
    """``routes``: path (with query) → (status, headers, body); ``queued`` responses for a path are served
    first, once each. Unknown paths are 404. A route with an ``ETag`` answers a matching
    ``If-None-Match`` with 304. Records every hit."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    queued: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hit = Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                site.hits.append(hit)
                queued = site.queued.get(self.path)
                status, headers, body = (
                    queued.pop(0) if queued else site.routes.get(self.path, (404, {}, b"not found"))
                )
                if headers.get("ETag") and hit.headers.get("if-none-match") == headers["ETag"]:
                    status, body = 304, b""
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(
        self, path: str, body: bytes | str, content_type: str = "text/html", status: int = 200, **headers: str
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = (
            status,
            {"Content-Type": content_type, **headers} if content_type else headers,
            data,
        )

    def queue(self, path: str, status: int, body: bytes = b"", **headers: str) -> None:
        """Serve this response for ``path`` once before its route (e.g. a 429 with ``Retry-After``)."""
        self.queued.setdefault(path, []).append((status, headers, body))

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def __enter__(self) -> LocalSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def crawl(
    config: Path, db: Path, *args: str, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess, list]:
    """``bijia crawl --config CONFIG --db DB`` → (process, the stored offers as dicts)."""
    result = subprocess.run(
        [*BIJIA, "crawl", "--config", str(config), "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or ROOT,
    )
    if not db.exists():
        return result, []
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute("SELECT * FROM offers ORDER BY marketplace, listing_id")
        names = [d[0] for d in cursor.description]
        return result, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def test_local_site_serves_and_records() -> None:
    import urllib.request

    with LocalSite() as site:
        site.add("/a", "<p>hi</p>", **{"X-Test": "1"})
        with urllib.request.urlopen(site.url + "/a", timeout=5) as response:
            assert response.read() == b"<p>hi</p>" and response.headers["X-Test"] == "1"
    assert site.paths() == ["/a"]
