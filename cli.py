"""bijia (比价) — crawl marketplaces, match the same product across them, compare prices.

Exit codes: 0 all well · 1 user error (bad database, bad value) · 2 bad command line ·
3 partial failure (some marketplaces failed, the rest were published) · 4 total failure (nothing published)
· 75 another run holds the lock · 78 invalid marketplaces file.
"""

from __future__ import annotations

import typer

from commands import crawling, extraction, marketplaces, matching, prices, serving, shopper

app = typer.Typer(
    help=__doc__,
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (crawling, matching, prices, serving, extraction, shopper):
    app.add_typer(group.app)
app.add_typer(marketplaces.app, name="marketplaces")

if __name__ == "__main__":
    app()
