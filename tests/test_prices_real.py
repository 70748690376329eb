"""parse_price on 1,176 real price strings (price-parser's own test data, in ../shared/pages)."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from price_parser import Price

from core.prices import currency_code, parse_price

SHARED = Path(os.environ.get("BIJIA_SHARED") or Path(__file__).resolve().parents[2] / "shared")
DATA = SHARED / "pages" / "price-strings.json"
pytestmark = pytest.mark.skipif(
    not DATA.exists(),
    reason=f"real price strings not available: {DATA} (set BIJIA_SHARED to the shared folder)",
)


def _cases() -> list[dict]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def _norm(currency: str | None) -> str | None:
    """Both sides compared as ISO codes where the symbol is known (``€`` == ``EUR``), else as written."""
    return currency_code(currency) or currency


def _expected(case: dict) -> tuple[Decimal | None, str | None]:
    amount = None if case["amount"] is None else Decimal(case["amount"])
    return amount, _norm(case["currency"])


def test_accuracy_is_at_least_price_parsers() -> None:
    cases = _cases()
    assert len(cases) == 1176
    ours = theirs = 0
    for case in cases:
        amount, currency = _expected(case)
        pp = Price.fromstring(
            case["text"], currency_hint=case["currency_hint"], decimal_separator=case["decimal_separator"]
        )
        we = parse_price(case["text"], case["currency_hint"], decimal_separator=case["decimal_separator"])
        theirs += pp.amount == amount and _norm(pp.currency) == currency
        ours += we.amount == amount and _norm(we.currency or we.currency_symbol) == currency
    print(
        f"accuracy on {len(cases)} real price strings: bijia {ours} ({ours / len(cases):.1%}), "
        f"price-parser {theirs} ({theirs / len(cases):.1%})"
    )
    assert ours >= theirs
    assert ours / len(cases) >= 0.94


def test_every_yuan_case_is_right() -> None:
    yuan = [
        c
        for c in _cases()
        if _norm(c["currency"]) == "CNY"
        or any(s in (c["text"] or "") for s in ("¥", "￥", "元", "人民币", "RMB", "CNY"))
    ]
    assert len(yuan) >= 2
    for case in yuan:
        we = parse_price(case["text"], case["currency_hint"])
        assert (we.amount, we.currency) == (Decimal(case["amount"]), "CNY"), case
