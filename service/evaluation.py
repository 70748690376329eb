"""``bijia eval-matching``: measure the matcher on a labelled set — the shipped default as it is, a model
fitted on the set's own train split, or (``--transfer``) models fitted on all shared sets but one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from matching.config import MatchConfig
from matching.model import ModelError, dump, register_model
from matching.tuning.datasets import DatasetError, load, parse_columns
from matching.tuning.evaluate import evaluate
from service.errors import UserError

Progress = Callable[[str], None]
TRANSFER_SETS = ("abt-buy", "wdc-products", "ali-ember-zh")
"""The shared sets left out in turn (each model is also fitted on the demo catalogues)."""


def fitting():
    """``matching.tuning.fit`` (it needs scikit-learn: imported when a command fits)."""
    try:
        from matching.tuning import fit
    except ImportError as exc:
        raise UserError(
            f"fitting needs scikit-learn ({exc.name} is missing): pip install -e '.[tune]'"
        ) from None
    return fit


def eval_matching(
    dataset: str,
    split: str = "test",
    columns: str | None = None,
    fit: bool = False,
    out: Path | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """The shipped default model's P/R/F1 on ``dataset``'s ``split``; with ``fit`` also a model fitted on
    its train split (chosen on its valid split), written to ``out`` when given."""
    say = progress or (lambda _: None)
    try:
        mapping = parse_columns(columns)
        say(f"reading {dataset} [{split}]")
        ps = load(dataset, split, mapping)
        say(f"scoring {len(ps.pairs):,} pairs with the default model")
        reports = [evaluate(ps, MatchConfig()).to_dict()]
        if fit:
            say("fitting on its train split, choosing on its valid split")
            tuning = fitting()
            model, _ = tuning.fit_model(
                tuning.parts_of([dataset], "train", mapping), tuning.parts_of([dataset], "valid", mapping)
            )
            if out is not None:
                out.write_text(dump(model.data), encoding="utf-8")
            name = register_model(model, f"fitted-{model.version}")
            reports.append(evaluate(ps, MatchConfig.for_model(name)).to_dict())
    except (DatasetError, ModelError) as exc:
        raise UserError(str(exc)) from None
    return reports


def eval_transfer(split: str = "test", progress: Progress | None = None) -> list[dict[str, Any]]:
    """For each shared set: a model fitted on the others (and the demo catalogues), chosen on their valid
    splits, scored on the left-out set's ``split`` — the figure for a catalogue never seen."""
    tuning = fitting()
    say = progress or (lambda _: None)
    sources = [*TRANSFER_SETS, "demo"]
    try:
        say("featurising the train and valid splits")
        train, valid = tuning.parts_of(sources, "train"), tuning.parts_of(sources, "valid")
        rows = []
        for left_out in TRANSFER_SETS:
            say(f"fitting without {left_out}")
            model, _ = tuning.fit_model(
                [p for p in train if p.group != left_out], [p for p in valid if p.group != left_out]
            )
            name = register_model(model, f"without-{left_out}-{model.version}")
            report = evaluate(load(left_out, split), MatchConfig.for_model(name))
            fit_on = ", ".join(s for s in sources if s != left_out)
            rows.append({"left_out": left_out, "fit_on": fit_on, **report.to_dict()})
    except (DatasetError, ModelError) as exc:
        raise UserError(str(exc)) from None
    return rows
