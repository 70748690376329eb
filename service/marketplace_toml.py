"""The marketplaces file as text: a ``[[marketplace]]`` block (with its proposed field map and comments)
appended so that the file's own comments and order are kept, validated as a whole, rolled back when
invalid, and written atomically."""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from crawler.config import ConfigError, Marketplace, load_config

COMMENT_COLUMN = 44


def toml_value(value: Any) -> str:
    """A TOML literal: strings as basic strings (JSON escaping is valid TOML), lists, numbers, booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def marketplace_block(
    entry: dict[str, Any],
    comment: str | None = None,
    field_map: dict[str, Any] | None = None,
    comments: dict[str, str] | None = None,
) -> str:
    """The ``[[marketplace]]`` block; a proposed ``field_map`` follows as ``[marketplace.map]`` tables,
    each proposed field commented with what it read on the page (``comments``: ``fields.price`` →
    ``¥5,999.00``)."""
    lines = [f"# {line}" for line in (comment or "").splitlines() if line.strip()]
    lines.append("[[marketplace]]")
    lines += [f"{key} = {toml_value(value)}" for key, value in entry.items() if value not in (None, [], "")]
    if field_map:
        lines += map_lines(field_map, comments or {})
    return "\n".join(lines) + "\n"


def map_lines(field_map: dict[str, Any], comments: dict[str, str]) -> list[str]:
    lines = [
        "",
        "# proposed field map: check the preview, edit what is wrong (docs/marketplaces.md)",
        "[marketplace.map]",
    ]
    tables = {k: v for k, v in field_map.items() if k in ("fields", "attributes", "detail")}
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in field_map.items() if k not in tables]
    for table, values in tables.items():
        lines += ["", f"[marketplace.map.{table}]"]
        for key, value in values.items():
            line = f"{toml_key(key)} = {toml_value(value)}"
            seen = comments.get(f"{table}.{key}")
            if seen:
                line = line.ljust(COMMENT_COLUMN) + " # " + " ".join(seen.split())[:50]
            lines.append(line)
    return lines


def append_block(config: Path, before: str | None, block: str, name: str) -> Marketplace:
    """Append ``block`` to the file, validate the whole file, put it back as it was when invalid."""
    text = (before.rstrip("\n") + "\n\n" if before else "") + block
    write_atomically(config, text)
    try:
        parsed = load_config(config)
    except ConfigError:
        restore(config, before)
        raise
    return next(m for m in parsed.marketplace if m.name == name)


def validate_block(config: Path, before: str | None, block: str, name: str) -> Marketplace:
    """The marketplace ``block`` describes, validated on its own (``--dry-run``: nothing is written)."""
    with tempfile.TemporaryDirectory(prefix="bijia-add-") as tmp:
        path = Path(tmp) / config.name
        path.write_text(block, encoding="utf-8")
        try:
            parsed = load_config(path)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(path), f"{config} (dry run)")) from None
    return next(m for m in parsed.marketplace if m.name == name)


def existing_names(config: Path, text: str | None) -> set[str]:
    """Marketplace names already in the file (which may have none yet); unreadable TOML is an error."""
    if text is None:
        return set()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        load_config(config)  # raises ConfigError naming the file and the problem
        raise
    entries = raw.get("marketplace")
    return {
        e["name"]
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, dict) and isinstance(e.get("name"), str)
    }


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` atomically (a crash leaves the old file or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def restore(path: Path, before: str | None) -> None:
    if before is None:
        path.unlink(missing_ok=True)
    else:
        write_atomically(path, before)
