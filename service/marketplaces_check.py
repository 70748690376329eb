"""``bijia marketplaces check``: crawl a few pages of each marketplace exactly as ``bijia crawl`` does (the
real spider, robots.txt, the price and validation pipelines; ``spiders.sample``) and say, per shop and per
field, how often the offers have it — with warnings for empty required fields (title, price) and for
fields that fell since the last run stored in the database (layout drift).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.config import Marketplace, load_config, select_marketplaces
from spiders.sample import IGNORED, Sample, sample_crawl
from storage import connect
from storage.fill_rates import FILL_FIELDS, fill_rates

DRIFT_FROM = 0.5
"""A field filled on at least this share of the last run's offers…"""
DRIFT_DROP = 0.3
"""…that falls by more than this is reported as layout drift."""
REQUIRED = {"title": "no_title", "price": "no_price"}


@dataclass
class CheckResult:
    name: str
    shape: str
    status: str  # ok | degraded | failed
    pages: int = 0
    offers: int = 0
    """Offers the pages gave (usable + dropped)."""
    usable: int = 0
    fill: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    """``bijia/disagreement/…`` and other notable counters of the sample crawl."""
    sample: list[dict[str, Any]] = field(default_factory=list)
    """The first usable offers (for a preview)."""

    def row(self) -> dict[str, Any]:
        first = self.sample[0] if self.sample else {}
        return {
            "name": self.name,
            "shape": self.shape,
            "status": self.status,
            "pages": self.pages,
            "offers": self.offers,
            "usable": self.usable,
            "shipping": percent(self.fill.get("shipping")),
            "title": first.get("title"),
            "price": first.get("price"),
            "currency": first.get("currency"),
            "warnings": "; ".join(self.warnings),
        }

    def json(self) -> dict[str, Any]:
        return {**self.row(), "fill": self.fill, "warnings": self.warnings, "stats": self.stats}


CHECK_COLUMNS = ["name", "shape", "status", "pages", "offers", "usable", "shipping", "warnings"]
FILL_COLUMNS = ["name", *FILL_FIELDS]


def percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.0f}%"


def check_marketplaces(
    config: Path | None,
    names: list[str] | None = None,
    *,
    db: Path | None = None,
    pages: int = 1,
    timeout: float = 10.0,
) -> list[CheckResult]:
    """Sample ``pages`` listing pages of each marketplace (the enabled ones, or those named) and report
    fill rates, compared with the offers the database at ``db`` holds from the last runs."""
    markets = select_marketplaces(load_config(config), config, names or None)
    samples = sample_crawl(markets, pages=pages, timeout=timeout)
    before = last_fill_rates(db, [m.name for m in markets])
    return [result(m, samples[m.name], before.get(m.name)) for m in markets]


def last_fill_rates(db: Path | None, names: list[str]) -> dict[str, dict[str, float]]:
    if db is None or not Path(db).exists():
        return {}
    con = connect(db, read_only=True)
    try:
        found = {name: fill_rates(con, name) for name in names}
    finally:
        con.close()
    return {name: rates for name, rates in found.items() if rates}


def result(m: Marketplace, sample: Sample, before: dict[str, float] | None) -> CheckResult:
    offers = sample.offers
    fill = (
        {f: sum(1 for o in offers if o.get(f) not in (None, "")) / len(offers) for f in FILL_FIELDS}
        if offers
        else {}
    )
    out = CheckResult(
        m.name,
        m.shape,
        sample.status if offers else "failed",
        sample.pages,
        len(offers) + sum(sample.dropped.values()),
        len(offers),
        fill,
        stats={k: v for k, v in sample.stats.items() if k.startswith("bijia/disagreement/")},
        sample=offers[:10],
    )
    forbidden = sample.stats.get("robotstxt/forbidden") or (m.obey_robots and sample.stats.get(IGNORED))
    if forbidden:
        out.warnings.append(f"robots.txt disallows {forbidden} page(s) (obey_robots = true)")
    elif sample.reason:
        out.warnings.append(sample.reason)
    for name, reason in REQUIRED.items():
        if sample.dropped.get(reason):
            out.warnings.append(f"{sample.dropped[reason]} offer(s) without a {name} (dropped)")
    for reason, n in sorted(sample.dropped.items()):
        if reason not in REQUIRED.values():
            out.warnings.append(f"{n} offer(s) dropped: {reason}")
    out.warnings += drift(fill, before) if offers else []
    return out


def drift(fill: dict[str, float], before: dict[str, float] | None) -> list[str]:
    """Fields that fell since the last run: filled on ≥ 50 % of its offers, now on 30 points less."""
    if not before:
        return []
    return [
        f"{name} fell from {percent(before[name])} to {percent(fill.get(name, 0.0))} of offers since the "
        "last run (layout drift?)"
        for name in FILL_FIELDS
        if before.get(name, 0.0) >= DRIFT_FROM and fill.get(name, 0.0) < before[name] - DRIFT_DROP
    ]
