"""Exit codes cron can act on, and the user-facing error every command turns into one line."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # a user error: bad database, bad argument value, nothing to do
    USAGE = 2  # bad command line (Typer/Click's own code)
    PARTIAL = 3  # some marketplaces failed; the rest were published
    FAILED = 4  # every marketplace failed; nothing was published
    LOCKED = 75  # another run holds the lock (EX_TEMPFAIL: try again later)
    CONFIG = 78  # the marketplaces file is invalid (EX_CONFIG)


class UserError(Exception):
    """An error the user can fix; the CLI prints the message (no traceback) and exits with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.code = code
