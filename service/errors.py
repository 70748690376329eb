"""Exit codes cron can act on, and the user-facing error every command turns into one line."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # a user error: bad database, bad argument value, nothing to do
    USAGE = 2  # bad command line (Typer/Click's own code)
    PARTIAL = 3  # some marketplaces failed; the rest were published
    FAILED = 4  # nothing was published: every marketplace failed, or the run failed or was stopped
    INCOMPLETE = 5  # published, but the alerts (or the run's own record) could not be written
    LOCKED = 75  # another run holds the lock (EX_TEMPFAIL: try again later)
    CONFIG = 78  # the marketplaces file is invalid (EX_CONFIG)


_SEVERITY = [ExitCode.OK, ExitCode.PARTIAL, ExitCode.INCOMPLETE, ExitCode.FAILED]


def worse(a: ExitCode, b: ExitCode) -> ExitCode:
    """The more serious of two run outcomes: 4 (nothing published) > 5 (published, alerts or record
    failed) > 3 (some marketplaces failed) > 0."""
    rank = {code: i for i, code in enumerate(_SEVERITY)}
    return max(a, b, key=lambda code: rank.get(code, len(_SEVERITY)))


class UserError(Exception):
    """An error the user can fix; the CLI prints the message (no traceback) and exits with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.code = code
