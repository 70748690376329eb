"""``bijia model``: re-fit the matcher with the merchandiser's decisions, list and choose the models.

A confirm decision is a labelled matching pair, a split a labelled non-matching one. ``model_fit`` re-fits
the default model on the pooled shared training sets plus these pairs (chosen on the pooled valid splits and
every third decision, held out of the fit) and stores it in the database as the active model, which ``bijia
match`` then uses; the run and each product record the model version. With ``out`` it writes the model file instead (the shipped default is
re-fitted with ``bijia model fit --out matching/models/default.json``) and leaves the database alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from matching.config import MatchConfig
from matching.model import PairModel, dump, load_model, register_model
from matching.tuning.datasets import DatasetError, PairSet
from service.errors import UserError
from service.evaluation import fitting
from service.match import record_of
from storage import connect
from storage.models import activate, active_model, products_by_model, save_model, stored_models
from storage.products import offers_for_matching, overrides

LOCAL_WEIGHT = 1.0
"""The decisions together weigh as much as one of the pooled sets (see ``matching.tuning.fit``)."""


@dataclass
class FitReport:
    version: str
    confirmed: int
    split: int
    threshold: float
    valid_f1: dict[str, float]
    stored: str
    seconds: float
    fit_on: dict[str, Any] = field(default_factory=dict)


def decisions_of(con: duckdb.DuckDBPyConnection) -> PairSet:
    """The decisions whose two offers are still stored, as a labelled pair set over all stored offers (so
    word rarities are those of a match run)."""
    records = [record_of(r) for r in offers_for_matching(con)]
    index = {r.key: i for i, r in enumerate(records)}
    pairs, labels = [], []
    for a, b, decision in overrides(con):
        if a in index and b in index:
            pairs.append((index[a], index[b]))
            labels.append(int(decision == "confirm"))
    return PairSet("local decisions", records, pairs, labels)


def model_fit(
    db_path: Path | None,
    out: Path | None = None,
    local_weight: float = LOCAL_WEIGHT,
    sources: Sequence[str] | None = None,
    grid: Sequence[dict[str, Any]] | None = None,
) -> FitReport:
    """Fit the default on the pooled sets (+ the database's decisions unless ``db_path`` is None); store it
    in the database as the active model, or write it to ``out``. ``sources``/``grid``: fewer sets or tree
    settings than the default's (a quick fit)."""
    tuning = fitting()
    started = time.monotonic()
    decisions = None
    if db_path is not None:
        con = connect(db_path, read_only=True)
        try:
            decisions = decisions_of(con)
        finally:
            con.close()
    try:
        model, meta = tuning.fit_default(
            decisions, local_weight, sources or tuning.SOURCES, grid or tuning.TREE_GRID
        )
    except DatasetError as exc:
        raise UserError(
            f"{exc} — the pooled training sets are read from ../shared/data (or $BIJIA_SHARED/data)"
        ) from None
    confirmed = sum(decisions.labels) if decisions else 0
    split = len(decisions.labels) - confirmed if decisions else 0
    if out is not None:
        out.write_text(dump(model.data), encoding="utf-8")
        stored = str(out)
    else:
        assert db_path is not None
        con = connect(db_path)
        try:
            save_model(con, model.version, dump(model.data), confirmed + split, meta)
        finally:
            con.close()
        stored = f"{db_path} (active)"
    return FitReport(
        model.version,
        confirmed,
        split,
        model.settings["threshold"],
        meta["valid_f1"],
        stored,
        round(time.monotonic() - started, 1),
        meta["fit_on"],
    )


def model_list(db_path: Path) -> list[dict[str, Any]]:
    """The shipped default and the models fitted into this database; which one `bijia match` uses."""
    default = MatchConfig()
    con = connect(db_path, read_only=True)
    try:
        stored = stored_models(con)
        products = products_by_model(con)
    finally:
        con.close()
    rows = [
        {
            "version": default.model_version,
            "model": "default (shipped)",
            "created": "",
            "decisions": 0,
            "active": not any(m.active for m in stored),
            "products": products.get(default.model_version, 0),
            "valid_f1": _mean_f1(_shipped_meta()),
        }
    ]
    rows += [
        {
            "version": m.version,
            "model": f"local-{m.version}",
            "created": m.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
            "decisions": m.decisions,
            "active": m.active,
            "products": products.get(m.version, 0),
            "valid_f1": _mean_f1(m.summary),
        }
        for m in stored
    ]
    return rows


def _shipped_meta() -> dict[str, Any]:
    return load_model().meta


def _mean_f1(meta: dict[str, Any]) -> float | None:
    value = meta.get("valid_macro_f1")
    return round(float(value), 4) if value is not None else None


def model_use(db_path: Path, version: str) -> str:
    """Make a stored model (by version) or ``default`` (the shipped one) the one `bijia match` uses."""
    con = connect(db_path)
    try:
        if not activate(con, None if version == "default" else version):
            known = ", ".join(m.version for m in stored_models(con)) or "none"
            raise UserError(f"no stored model {version!r} (stored: {known}; or 'default')")
    finally:
        con.close()
    return version


def configured(con: duckdb.DuckDBPyConnection, config: MatchConfig) -> MatchConfig:
    """The active fitted model of this database (registered, with its own threshold and vetoes) in place
    of the shipped default; ``config`` unchanged when none is active."""
    found = active_model(con)
    if found is None:
        return config
    version, text = found
    model = PairModel.from_dict(json.loads(text))
    name = register_model(model, f"local-{version}")
    return MatchConfig.for_model(name, workers=config.workers)
