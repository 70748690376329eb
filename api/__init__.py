"""The storefront HTTP API over published snapshots (``storage.snapshots``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def serve(
    snapshots_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    *,
    log_level: str = "info",
    access_log: bool = False,
    max_concurrency: int = 64,
) -> None:
    """Run the API under uvicorn (blocks until stopped); see ``api.server.serve``."""
    from api.server import serve as _serve

    _serve(
        snapshots_dir,
        host,
        port,
        workers,
        log_level=log_level,
        access_log=access_log,
        max_concurrency=max_concurrency,
    )


def create_app(snapshots_dir: Path, **options: Any) -> Any:
    """The FastAPI app; see ``api.app.create_app``."""
    from api.app import create_app as _create_app

    return _create_app(snapshots_dir, **options)


__all__ = ["create_app", "serve"]
