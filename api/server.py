"""Running the API under uvicorn (``bijia serve``).

uvicorn answers some requests before the app sees them — a request line or header its parser refuses (a
100 KB query string) — with a plain-text 400; :class:`JsonErrorsHttpTools` gives those the API's error shape
too. The per-worker limits (requests in flight, sizes) are ``api.security``'s.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from api.security import COMMON, CONCURRENCY_ENV, DEFAULT_MAX_CONCURRENCY

BAD_REQUEST = json.dumps(
    {
        "error": {
            "code": "bad_request",
            "message": "the HTTP request could not be read (malformed, or a request line or header too long)",
        }
    }
).encode()


class JsonErrorsHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, with its own 400 answer in the API's JSON error shape."""

    def send_400_response(self, msg: str) -> None:
        head = [b"HTTP/1.1 400 Bad Request"]
        head += [name + b": " + value for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json",
            b"content-length: " + str(len(BAD_REQUEST)).encode("ascii"),
            b"cache-control: no-store",
            *(name + b": " + value for name, value in COMMON),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + BAD_REQUEST)
        self.transport.close()


class TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        """uvicorn's shared socket for ``workers > 1`` has protocol 0, so asyncio never sets TCP_NODELAY on
        its connections and every response waits ~40 ms (Nagle + delayed ACK). Mark it TCP, no delay."""
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tcp.set_inheritable(True)
        return tcp


def server_config(
    app: Any, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, **options: Any
) -> TcpConfig:
    """The uvicorn configuration ``bijia serve`` uses (tests start the same one on port 0)."""
    return TcpConfig(
        app,
        host=host,
        port=port,
        workers=workers,
        http=JsonErrorsHttpTools,
        backlog=4096,  # a burst of connections waits in the kernel's queue, then meets the in-flight limit
        timeout_keep_alive=5,
        server_header=False,
        **options,
    )


def serve(
    snapshots_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    *,
    log_level: str = "info",
    access_log: bool = False,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
) -> None:
    """Run the API under uvicorn (blocks until stopped). ``workers > 1`` starts that many processes, each
    reading the snapshots read-only; they share one listening socket. ``max_concurrency``: requests in
    flight per worker before 503s (0: no limit)."""
    os.environ["BIJIA_SNAPSHOTS_DIR"] = str(Path(snapshots_dir).resolve())
    os.environ[CONCURRENCY_ENV] = str(max_concurrency)
    config = server_config(
        "api.app:app_from_env", host, port, workers, factory=True, log_level=log_level, access_log=access_log
    )
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
