"""DuckDB storage: the only package that talks to the database.

Runs, offers (latest state), prices (append-only history), products and their offers, match overrides.
"""

from storage.db import StorageError, connect, connected

__all__ = ["StorageError", "connect", "connected"]
