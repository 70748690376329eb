"""The storefront HTTP API over published snapshots (``storage.snapshots``)."""

from __future__ import annotations

import os
from pathlib import Path


def serve(snapshots_dir: Path, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, *,
          log_level: str = "info", access_log: bool = False) -> None:
    """Run the API under uvicorn (blocks). ``workers > 1`` starts that many processes, each reading the
    snapshots read-only."""
    import uvicorn

    os.environ["BIJIA_SNAPSHOTS_DIR"] = str(Path(snapshots_dir).resolve())
    uvicorn.run("api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=access_log)


def create_app(snapshots_dir: Path, **options):  # noqa: ANN201 - re-exported lazily
    from api.app import create_app as _create_app

    return _create_app(snapshots_dir, **options)


__all__ = ["create_app", "serve"]
