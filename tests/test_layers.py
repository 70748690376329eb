"""The layers: imports point one way, and the command line starts without the heavy libraries.

Every ``import`` counts, including those inside functions and under ``TYPE_CHECKING``: a lazy import is
still a dependency. The rules (lowest first):

    core                      the domain: the Offer, money, codes, encodings — imports no other package
    matching, storage         above core; independent of each other
    crawler                   Scrapy plumbing; may write to storage
    spiders                   built on crawler
    service                   one library function per command; everything above is a door over it
    api, commands, cli        the HTTP and command-line doors

``demo/`` is the demo marketplaces, not part of the runtime: only the demo's own command (``service.demo``,
``service.truth``, ``commands``), the tuning code (``matching.tuning``), benchmarks and tests use it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RANK = {
    "core": 0,
    "matching": 1,
    "storage": 1,
    "crawler": 2,
    "spiders": 3,
    "service": 4,
    "api": 5,
    "commands": 6,
    "cli": 7,
}
SIBLINGS = {frozenset({"matching", "storage"})}
"""Packages of the same rank that must not import each other."""
DEMO_USERS = (
    "service.demo",
    "service.truth",
    "commands",
    "matching.tuning",
    "demo",
)
HEAVY = (
    "scrapy",
    "playwright",
    "duckdb",
    "fastapi",
    "uvicorn",
    "rich",
    "rapidfuzz",
    "numpy",
    "jieba",
    "extruct",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, relative imports resolved."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - node.level + 1]
                target = ".".join([*parts, node.module] if node.module else parts)
            else:
                target = node.module or ""
            if target:
                found.add(target)
            found.update(f"{target}.{alias.name}" if target else alias.name for alias in node.names)
    return found


def violations(module: str, imports: set[str]) -> list[str]:
    """The imports of ``module`` that break the rules, as readable lines."""
    top = module.split(".")[0]
    out = []
    for target in sorted(imports):
        other = target.split(".")[0]
        if other == top:
            continue
        if other == "demo" and not module.startswith(DEMO_USERS):
            out.append(f"{module} imports {target}: the runtime must not depend on the demo")
        elif other in RANK and top in RANK and RANK[other] > RANK[top]:
            out.append(f"{module} (layer {top}) imports {target} from the higher layer {other}")
        elif frozenset({top, other}) in SIBLINGS:
            out.append(f"{module} imports {target}: {top} and {other} are independent of each other")
    return out


def project_modules() -> list[tuple[str, Path]]:
    files = [ROOT / "cli.py"] + [
        p for pkg in RANK if (ROOT / pkg).is_dir() for p in (ROOT / pkg).rglob("*.py")
    ]
    files += list((ROOT / "demo").rglob("*.py"))
    return [(module_name(p), p) for p in sorted(files)]


def test_imports_point_one_way():
    found = []
    for module, path in project_modules():
        found += violations(module, imported_modules(path.read_text(), module, path.name == "__init__.py"))
    assert found == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("storage.offers", "from crawler.items import Offer"),
        ("crawler.middlewares", "def f():\n    from spiders.pages._common import choose_encoding"),
        ("crawler.runner", "def run():\n    from spiders import SPIDERS"),
        ("matching.pipeline", "def demo():\n    from demo.catalogue import generate_catalogue"),
        ("core.offer", "from storage.schema import OFFER_COLUMNS"),
        ("matching.scoring", "from storage import connect"),
        ("service.match", "from .. import cli"),
    ],
)
def test_the_check_catches_arrows_the_wrong_way(module, source):
    """The arrows the house issue found (and a few more) are each reported."""
    assert violations(module, imported_modules(source, module)) != []


def test_relative_imports_resolve_to_their_package():
    assert "matching.config" in imported_modules("from .config import MatchConfig", "matching.scoring")
    assert "matching" in imported_modules("from . import blocking", "matching", is_package=True)


def test_the_command_line_starts_without_heavy_libraries():
    """`bijia --help` must be instant: importing the CLI loads none of the heavy libraries, directly or
    through the modules it imports (commands import their service modules inside the command)."""
    code = f"import sys, cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.split() == []
