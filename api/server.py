"""Running the API under uvicorn (``bijia serve``)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess


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


def serve(
    snapshots_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    *,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Run the API under uvicorn (blocks until stopped). ``workers > 1`` starts that many processes, each
    reading the snapshots read-only; they share one listening socket."""
    os.environ["BIJIA_SNAPSHOTS_DIR"] = str(Path(snapshots_dir).resolve())
    config = TcpConfig(
        "api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
    )
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
