"""Which Chromium to drive: ``BIJIA_CHROMIUM`` → Playwright's own browser → the system ``chromium``."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

SYSTEM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# Without these, Chromium tries Google's hosts at start; this machine's closed network refuses them.
QUIET_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


class BrowserNotFound(Exception):
    pass


def playwright_chromium() -> str | None:
    """Playwright's own downloaded Chromium, if `playwright install chromium` ever worked here."""
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache" / "ms-playwright"))
    for pattern in ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/chrome-*/headless_shell"):
        found = sorted(glob.glob(str(root / pattern)))
        if found:
            return found[-1]
    return None


def chromium_executable() -> str | None:
    """The executable to launch, or ``None`` to let Playwright use its default."""
    configured = os.environ.get("BIJIA_CHROMIUM")
    if configured:
        if not (Path(configured).is_file() or shutil.which(configured)):
            raise BrowserNotFound(f"BIJIA_CHROMIUM={configured!r} is not an executable file")
        return shutil.which(configured) or configured
    if playwright_chromium():
        return None
    for candidate in SYSTEM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    raise BrowserNotFound(
        "no Chromium found: run `make setup` (installs one), install the Debian package "
        "`chromium`, or set BIJIA_CHROMIUM to a Chromium/Chrome executable"
    )


def launch_options() -> dict:
    """``PLAYWRIGHT_LAUNCH_OPTIONS`` for scrapy-playwright (also usable with ``playwright.launch``)."""
    args = list(QUIET_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox on
    options: dict = {"headless": True, "args": args}
    try:
        executable = chromium_executable()
    except BrowserNotFound:
        executable = None  # reported when a browser marketplace is crawled, not at import
    if executable:
        options["executable_path"] = executable
    return options


def main() -> int:
    """``python -m crawler.browser``: print the Chromium bijia will use; exit 1 when there is none."""
    try:
        executable = chromium_executable()
    except BrowserNotFound as exc:
        print(f"no browser: {exc}")
        return 1
    print(executable or playwright_chromium() or "playwright default")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
