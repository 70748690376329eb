"""bijia (比价) — crawl marketplaces, match the same product across them, compare prices.

Exit codes: 0 all well · 1 user error (bad database, bad value) · 2 bad command line ·
3 partial failure (some marketplaces failed, the rest were published) · 4 total failure (nothing published)
· 5 published, but the alerts or the run's record could not be written · 75 another run holds the lock
· 78 invalid marketplaces file.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import commands

app = typer.Typer(
    help=__doc__,
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Every module of commands/ with an ``app`` adds its commands: at the top level, or as the sub-command
# group its ``GROUP`` names (``bijia marketplaces …``). A new group of commands is a new module, no edit here.
for info in pkgutil.iter_modules(commands.__path__):
    module = importlib.import_module(f"commands.{info.name}")
    if isinstance(getattr(module, "app", None), typer.Typer):
        app.add_typer(module.app, name=getattr(module, "GROUP", None))

if __name__ == "__main__":
    app()
