"""DuckDB storage: the only package that talks to the database.

Runs, offers (latest state), prices (append-only history), products and their offers, match overrides.
"""

from storage.db import connect, connected
from storage.failures import DiskFull, StorageBusy, StorageError

__all__ = ["DiskFull", "StorageBusy", "StorageError", "connect", "connected"]
