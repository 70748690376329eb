"""``bijia watch``: the watchlist, and the alerts a run owes to it.

A watch alerts when its condition *becomes* true, never again while it keeps holding (state between runs,
``storage.watchlist``), so price drift around a target does not repeat it:

- ``below_target`` (到价): the product's lowest landed price (in stock, any marketplace) ≤ the target;
  re-armed once the price is back above the target by more than ``REARM`` (2 %);
- ``real_drop`` (降价): it is ``drop_percent`` or more below the reference price (the lowest in the 30 days
  before the current price took effect — ``reference_prices``, the one switch to the shared definition);
  re-armed the same way;
- ``restocked`` (到货): no in-stock offer at the last run, one now (a new watch learns the state silently).

Only published offers count, so a marketplace whose crawl failed changes nothing (its last state stands).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb

from service.errors import ExitCode, UserError
from storage import connected
from storage.alerts import Alert, Lowest
from storage.history import product_facts
from storage.rates import conversions, get_settings
from storage.shopper_queries import product_titles
from storage.watchlist import Watch, WatchState, add_watch, remove_watch, watch_states, watches

REARM = Decimal("0.02")


def reference_prices(con: duckdb.DuckDBPyConnection, product_ids: list[str]) -> dict[str, Decimal | None]:
    """The price a drop is measured against, per product: ``storage.history``'s reference price (the lowest
    daily price in the 30 days before the current price took effect, in the display currency) — the
    definition the CLI, the API and the page use."""
    if not product_ids:
        return {}
    conv = conversions(con, get_settings(con).display_currency, datetime.now(UTC).date())
    return {pid: f.reference_price for pid, f in product_facts(con, conv, product_ids).items()}


@dataclass(frozen=True)
class Outcome:
    alerts: list[Alert]
    states: list[tuple[int, str, bool, Decimal | None]]


def watched_alerts(con: duckdb.DuckDBPyConnection, run_id: str, lowest: dict[str, Lowest]) -> Outcome:
    """The alerts the watchlist owes after ``run_id`` was published, and every watch's new state."""
    listed = watches(con)
    if not listed:
        return Outcome([], [])
    pids = sorted({w.product_id for w in listed})
    titles = product_titles(con, pids)
    drops = [w.product_id for w in listed if w.drop_percent]
    reference = reference_prices(con, sorted(set(drops)))
    states = watch_states(con)
    out = Outcome([], [])
    for watch in listed:
        for kind, holds, armed_again, details in _conditions(watch, lowest.get(watch.product_id), reference):
            state = states.get((watch.watch_id, kind))
            low = lowest.get(watch.product_id)
            price = low.landed_price if low else None
            was_active = state.active if state else None
            active = holds or (bool(was_active) and not armed_again)
            if active and not was_active and not (kind == "restocked" and state is None):
                out.alerts.append(_alert(run_id, kind, watch, low, titles.get(watch.product_id), details))
            out.states.append((watch.watch_id, kind, active, price))
    return out


def _conditions(
    watch: Watch, low: Lowest | None, reference: dict[str, Decimal | None]
) -> list[tuple[str, bool, bool, dict[str, Any]]]:
    """(kind, holds now, clearly over (re-arms), details) for each condition of the watch."""
    price = low.landed_price if low else None
    found: list[tuple[str, bool, bool, dict[str, Any]]] = []
    if watch.below is not None:
        holds = price is not None and price <= watch.below
        over = price is None or price > watch.below * (1 + REARM)
        found.append(("below_target", holds, over, {"target": watch.below}))
    if watch.drop_percent:
        ref = reference.get(watch.product_id)
        limit = ref * (1 - Decimal(str(watch.drop_percent)) / 100) if ref else None
        holds = price is not None and limit is not None and price <= limit
        over = price is None or limit is None or price > limit * (1 + REARM)
        below = ((ref - price) / ref * 100).quantize(Decimal("0.1"), ROUND_HALF_UP) if ref and price else None
        found.append(
            (
                "real_drop",
                holds,
                over,
                {"reference": ref, "below_reference_percent": below, "drop_percent": watch.drop_percent},
            )
        )
    if watch.back_in_stock:
        found.append(("restocked", low is not None, low is None, {}))
    return found


def _alert(
    run_id: str, kind: str, watch: Watch, low: Lowest | None, title: str | None, details: dict[str, Any]
) -> Alert:
    return Alert(
        run_id,
        kind,
        low.marketplace if low else None,
        low.listing_id if low else None,
        watch.product_id,
        title,
        {
            "watch_id": watch.watch_id,
            "label": watch.label,
            "price": low.landed_price if low else None,
            **details,
        },
    )


def _percent(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise UserError(f"--drop {text!r}: give a percentage such as 10%", ExitCode.USAGE) from None
    if not 0 < value < 100:
        raise UserError(f"--drop {text!r}: between 0 and 100 %", ExitCode.USAGE)
    return value


def watch_add(
    db: Path,
    product_id: str,
    *,
    below: str | None,
    drop: str | None,
    back_in_stock: bool,
    label: str | None = None,
) -> Watch:
    """``bijia watch add``: watch a known product for a target price, a real drop and/or a restock."""
    target = None
    if below is not None:
        try:
            target = Decimal(below.strip().lstrip("¥"))
        except ArithmeticError:
            target = None
        if target is None or not target.is_finite() or target <= 0:
            raise UserError(f"--below {below!r}: give a price in yuan such as 5999", ExitCode.USAGE)
    percent = _percent(drop)
    if target is None and percent is None and not back_in_stock:
        raise UserError(
            "say what to watch for: --below PRICE, --drop PERCENT and/or --back-in-stock", ExitCode.USAGE
        )
    with connected(db) as con:
        if not product_titles(con, [product_id]):
            raise UserError(f"no product {product_id!r} (see `bijia compare`)")
        return add_watch(
            con, product_id, below=target, drop_percent=percent, back_in_stock=back_in_stock, label=label
        )


def watch_list(db: Path) -> list[dict[str, Any]]:
    """``bijia watch list``: every watch with its product's title and whether each condition holds now."""
    with connected(db, read_only=True) as con:
        listed = watches(con)
        titles = product_titles(con, sorted({w.product_id for w in listed}))
        states = watch_states(con)
    return [_listed(w, titles, states) for w in listed]


def _listed(w: Watch, titles: dict[str, str], states: dict[tuple[int, str], WatchState]) -> dict[str, Any]:
    holding = [kind for (wid, kind), s in states.items() if wid == w.watch_id and s.active]
    return {**w.to_dict(), "title": titles.get(w.product_id), "holding": ",".join(sorted(holding))}


def watch_remove(db: Path, watch_id: int) -> None:
    with connected(db) as con:
        if not remove_watch(con, watch_id):
            raise UserError(f"no watch {watch_id} (see `bijia watch list`)")
