"""What every command shares: the common options, the one-line user errors, progress on a terminal and
the crawl/run report printer."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from service.errors import ExitCode, UserError
from service.output import Format

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_DB = Path("data/bijia.duckdb")
DEFAULT_SNAPSHOTS = Path("data/snapshots")

DbOption = Annotated[Path, typer.Option("--db", envvar="BIJIA_DB", help="DuckDB file to read and write.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="BIJIA_MARKETPLACES",
        help="Marketplaces TOML file (default: the bundled demo marketplaces).",
    ),
]
SnapshotsOption = Annotated[
    Path,
    typer.Option(
        "--snapshots", envvar="BIJIA_SNAPSHOTS", help="Folder of published snapshots that the API serves."
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show Scrapy's log (INFO).")]


def user_errors(func: F) -> F:
    """Turn library errors into one line on stderr and a distinct exit code (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # the error classes live beside heavy libraries (scrapy settings, duckdb): imported when a command runs
        import duckdb

        from crawler.browser import BrowserNotFound
        from crawler.config import ConfigError
        from storage.failures import StorageBusy, StorageError, describe, disk_full_path

        try:
            return func(*args, **kwargs)
        except UserError as exc:
            fail(str(exc), exc.code)
        except ConfigError as exc:
            fail(str(exc), ExitCode.CONFIG)
        except StorageBusy as exc:
            fail(str(exc), ExitCode.LOCKED)
        except (StorageError, BrowserNotFound) as exc:
            fail(str(exc), ExitCode.ERROR)
        except (duckdb.Error, OSError) as exc:  # a damaged database, a full disk, a bad path: one line
            if isinstance(exc, OSError) and not exc.filename and disk_full_path(exc) is None:
                raise  # not about a file: a bug, keep its traceback
            fail(str(describe(exc)), ExitCode.ERROR)
        except KeyboardInterrupt:
            fail("interrupted", ExitCode.FAILED)

    return wrapper  # type: ignore[return-value]


def fail(message: str, code: int) -> None:
    typer.echo(f"bijia: error: {message}", err=True)
    raise typer.Exit(int(code))


def progress_display() -> Any:
    """A rich progress display on a terminal; ``None`` (quiet) otherwise."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} offers"),
        TimeElapsedColumn(),
        transient=True,
    )


def showing(progress: Any) -> AbstractContextManager[Any]:
    """The progress display as a context (a do-nothing one when quiet)."""
    return progress if progress is not None else nullcontext()


def progress_callback(progress: Any) -> Callable[[str, int], None] | None:
    if progress is None:
        return None
    tasks: dict[str, Any] = {}

    def update(marketplace: str, offers: int) -> None:
        if marketplace not in tasks:
            tasks[marketplace] = progress.add_task(marketplace, total=None)
        progress.update(tasks[marketplace], completed=offers)

    return update


def print_report(marketplaces: Sequence[Any], summary: str, notes: Sequence[str] = ()) -> None:
    """One line per marketplace (pages, offers, dropped or errors, time, reason), then ``summary`` and notes,
    on stderr."""
    from rich.console import Console

    console = Console(stderr=True)
    for m in marketplaces:
        note = f" — {m.reason}" if m.reason else ""
        console.print(
            f"{m.name:12} {m.status:8} {m.pages:6} pages {m.offers:6} offers "
            f"{m.dropped:4} dropped {m.errors:4} errors {m.seconds:7.1f}s{note}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(summary, highlight=False, soft_wrap=True)
    for note in notes:
        console.print(f"  note: {note}", highlight=False, soft_wrap=True)


def exit_for_crawl(status: str) -> None:
    """Exit 4 when a crawl failed, 3 when it was partial; return otherwise."""
    if status == "failed":
        raise typer.Exit(int(ExitCode.FAILED))
    if status == "partial":
        raise typer.Exit(int(ExitCode.PARTIAL))
