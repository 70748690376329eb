"""Shared fixtures: a temporary bijia database filled through the storage API."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from core.offer import Offer

SHARED = Path(os.environ.get("BIJIA_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def make_offer(marketplace: str, listing_id: str, title: str, price: str, **fields) -> Offer:
    return Offer(
        marketplace=marketplace,
        listing_id=listing_id,
        url=f"http://127.0.0.1/{marketplace}/{listing_id}",
        title=title,
        price=Decimal(price),
        currency="CNY",
        **fields,
    )


@pytest.fixture
def offer_factory() -> Callable[..., Offer]:
    return make_offer


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bijia.duckdb"
