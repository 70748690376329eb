"""``bijia crawl``: crawl the marketplaces of a file into the working database and publish the run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from crawler.config import load_marketplaces
from crawler.runner import CrawlReport, ProgressCallback, run_crawl


def crawl(
    db: Path,
    config: Path | None,
    *,
    only: Sequence[str] | None = None,
    run_id: str | None = None,
    verbose: bool = False,
    progress: ProgressCallback | None = None,
) -> CrawlReport:
    markets = load_marketplaces(config, only=list(only) if only else None)
    return run_crawl(
        markets,
        db_path=db,
        run_id=run_id,
        log_level="INFO" if verbose else "ERROR",
        progress=progress,
        extra_settings={"LOG_INSTALL_ROOT_HANDLER": False},
    )
