"""``bijia demo``: start the demo marketplaces, crawl them all, match, and compare."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crawler.config import load_marketplaces
from crawler.runner import CrawlReport, ProgressCallback, run_crawl
from demo.catalogue import Catalogue, generate_catalogue
from demo.faults import FaultPlan, Faults
from demo.server import DemoServer
from service.match import MatchReport, run_match
from service.truth import TruthReport, score_against_truth


@dataclass
class DemoReport:
    crawl: CrawlReport
    match: MatchReport
    truth: TruthReport
    base_url: str
    seconds: float


@contextmanager
def demo_server(
    catalogue: Catalogue, port: int = 0, faults: Faults | FaultPlan | None = None
) -> Iterator[str]:
    """Run the demo marketplaces in a background thread; yields the base URL, also set as BIJIA_DEMO_URL."""
    previous = os.environ.get("BIJIA_DEMO_URL")
    with DemoServer(catalogue, port=port, faults=faults) as server:
        os.environ["BIJIA_DEMO_URL"] = server.base_url.rstrip("/")
        try:
            yield server.base_url.rstrip("/")
        finally:
            if previous is None:
                os.environ.pop("BIJIA_DEMO_URL", None)
            else:
                os.environ["BIJIA_DEMO_URL"] = previous


def run_demo(
    db_path: Path,
    *,
    size: int = 150,
    seed: int = 7,
    progress: ProgressCallback | None = None,
    log_level: str = "ERROR",
) -> DemoReport:
    started = time.monotonic()
    catalogue = generate_catalogue(size, seed)
    with demo_server(catalogue) as base_url:
        marketplaces = load_marketplaces()
        crawl = run_crawl(marketplaces, db_path=db_path, progress=progress, log_level=log_level)
    match = run_match(db_path)
    truth = score_against_truth(db_path, catalogue)
    return DemoReport(crawl, match, truth, base_url, round(time.monotonic() - started, 2))
