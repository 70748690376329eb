"""Library functions behind the CLI commands and HTTP endpoints (one function per command)."""
