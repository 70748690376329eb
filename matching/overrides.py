"""Merchandiser decisions the matcher always obeys: confirm (same product) and split (never together)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CONFIRM = "confirm"
SPLIT = "split"


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


@dataclass
class Overrides:
    """Plain data: rows of ``match_overrides(key_a, key_b, decision, decided_at, note)``.

    A later decision on the same pair replaces an earlier one.
    """

    confirm: set[tuple[str, str]] = field(default_factory=set)
    split: set[tuple[str, str]] = field(default_factory=set)

    def add(self, key_a: str, key_b: str, decision: str) -> None:
        if key_a == key_b:
            raise ValueError("an override needs two different offers")
        pair = _pair(key_a, key_b)
        if decision == CONFIRM:
            self.split.discard(pair)
            self.confirm.add(pair)
        elif decision == SPLIT:
            self.confirm.discard(pair)
            self.split.add(pair)
        else:
            raise ValueError(f"unknown override decision {decision!r} (expected 'confirm' or 'split')")

    def decision(self, key_a: str, key_b: str) -> str | None:
        pair = _pair(key_a, key_b)
        if pair in self.confirm:
            return CONFIRM
        if pair in self.split:
            return SPLIT
        return None

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any] | tuple]) -> Overrides:
        """From DB rows (mappings or tuples ``(key_a, key_b, decision, ...)``) in ``decided_at`` order."""
        out = cls()
        for row in rows:
            if isinstance(row, Mapping):
                out.add(row["key_a"], row["key_b"], row["decision"])
            else:
                out.add(row[0], row[1], row[2])
        return out

    def to_rows(self) -> list[dict[str, str]]:
        return [{"key_a": a, "key_b": b, "decision": CONFIRM} for a, b in sorted(self.confirm)] + [
            {"key_a": a, "key_b": b, "decision": SPLIT} for a, b in sorted(self.split)
        ]

    def __len__(self) -> int:
        return len(self.confirm) + len(self.split)
