"""``bijia eval-real-pages``: the product-page reader on real product pages nobody here wrote
(``tests/fixtures/real_product_pages``: saved pages from public repositories, with ``truth.json`` read
from each page by hand), field by field.

Each field of each page is ``right``, ``wrong``, ``missed`` or not judged (``None``). A title is right
when, case and spacing aside, it is the true title or holds it (or is held by it) with at most 40 % more
or fewer characters ("… Kindle Edition" after the book's title is still the title; the whole ``<title>``
with the shop's name and keywords is not). A price of ``null`` in the truth means the page shows none a
shopper could buy at (JavaScript fills it in, or the item is gone): the reader must abstain, and any price
is wrong. The currency is judged only where the page has a price; availability and SKU only where the
truth states them. A page is right when its title, price and currency are.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from crawler.config import Marketplace
from service.errors import UserError
from spiders.pages.product_page import Summary, read_product_page

TITLE_SPAN = 0.6
"""The shorter of two titles, one holding the other, must be at least this share of the longer."""
FIELDS = ("title", "price", "currency", "availability", "sku")
PAGE_FIELDS = ("title", "price", "currency")
"""The fields a page must have right to count as read right."""
Verdict = str | None
"""``right``, ``wrong``, ``missed`` or ``None`` (not judged)."""


@dataclass
class PageCheck:
    """One real page: what the reader made of it and the verdict on each field."""

    page: str
    chinese: bool
    verdicts: dict[str, Verdict]
    got: dict[str, str | None]
    truth: dict[str, str | None]

    @property
    def right(self) -> bool:
        """Title, price and currency all right (an abstention where the page shows no price counts)."""
        return all(self.verdicts[f] == "right" for f in PAGE_FIELDS if self.verdicts[f] is not None)

    def row(self) -> dict[str, Any]:
        return {"page": self.page, "chinese": self.chinese, "right": self.right} | {
            f"{f}_{kind}": value
            for f in FIELDS
            for kind, value in (("verdict", self.verdicts[f]), ("got", self.got[f]), ("true", self.truth[f]))
        }


@dataclass
class RealPages:
    checks: list[PageCheck]

    def totals(self) -> list[dict[str, Any]]:
        """Per field, for all pages and for the pages from Chinese marketplaces: how many right, wrong,
        missed, out of how many judged; ``page`` = title, price and currency all right."""
        groups = {"all": self.checks, "chinese": [c for c in self.checks if c.chinese]}
        return [
            tally(field, group, checks) for group, checks in groups.items() for field in (*FIELDS, "page")
        ]


def tally(field: str, group: str, checks: list[PageCheck]) -> dict[str, Any]:
    if field == "page":
        verdicts: Iterable[Verdict] = ("right" if c.right else "wrong" for c in checks)
    else:
        verdicts = (c.verdicts[field] for c in checks)
    judged = [v for v in verdicts if v is not None]
    counts = {kind: judged.count(kind) for kind in ("right", "wrong", "missed")}
    return {"field": field, "pages": group, **counts, "judged": len(judged)}


def real_pages_root() -> Path:
    return Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "real_product_pages"


def eval_real_pages(folder: Path | None = None) -> RealPages:
    """Read every page listed in ``folder/truth.json`` and compare it with the truth."""
    root = folder or real_pages_root()
    truth_file = root / "truth.json"
    try:
        truth: list[dict[str, Any]] = json.loads(truth_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no truth file: {truth_file} is missing") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{truth_file}: cannot read it ({exc})") from None
    return RealPages([check_page(root, page) for page in truth])


def check_page(root: Path, page: dict[str, Any]) -> PageCheck:
    path = root / page["file"]
    try:
        body = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise UserError(f"{path}: cannot read the page ({exc})") from None
    market = Marketplace(name="held-out", shape="jsonld", base_url=page["url"])
    got = read_product_page(body, page["url"], market, "text/html").summary
    return PageCheck(
        page=path.name.removesuffix(".html.gz"),
        chinese=bool(page.get("chinese_marketplace")),
        verdicts=judge(got, page),
        got={
            "title": got.title,
            "price": str(got.price) if got.price is not None else None,
            "currency": got.currency,
            "availability": _stock_word(got.in_stock),
            "sku": got.sku,
        },
        truth={f: _as_text(page.get(f)) for f in FIELDS},
    )


def judge(got: Summary, page: dict[str, Any]) -> dict[str, Verdict]:
    true_price = Decimal(page["price"]) if page["price"] is not None else None
    price: Verdict
    if true_price is None:
        price = "right" if got.price is None else "wrong"
    else:
        price = _compare(got.price, {true_price})
    stated = page.get("availability")
    return {
        "title": "missed" if not got.title else "right" if same_title(got.title, page["title"]) else "wrong",
        "price": price,
        "currency": None if true_price is None else _compare(got.currency, {page["currency"]}),
        "availability": None if stated is None else _compare(_stock_word(got.in_stock), {stated}),
        "sku": None if not page.get("sku") else _compare(got.sku, set(page["sku"])),
    }


def _compare(got: Any, true: set[Any]) -> Verdict:
    return "missed" if got is None else "right" if got in true else "wrong"


def _stock_word(in_stock: bool | None) -> str | None:
    return None if in_stock is None else "InStock" if in_stock else "OutOfStock"


def _as_text(value: Any) -> str | None:
    if isinstance(value, list):
        return " | ".join(value)
    return None if value is None else str(value)


def same_title(got: str | None, true: str) -> bool:
    a, b = _plain(got or ""), _plain(true)
    if not a:
        return False
    short, long = sorted((a, b), key=len)
    return short in long and len(short) >= TITLE_SPAN * len(long)


def _plain(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
