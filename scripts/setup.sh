#!/usr/bin/env bash
# Set up everything bijia needs on a fresh machine: a virtual environment in .venv, the pinned packages,
# and a Chromium for the JavaScript-rendered marketplaces. Safe to run again (does only what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bijia needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing packages (pyproject.toml)" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --config-settings editable_mode=compat -e '.[test,tune]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# A Chromium: BIJIA_CHROMIUM, else Playwright's own, else the system one; install one if none is found.
if ! .venv/bin/python -m crawler.browser >/dev/null 2>&1; then
  echo "setup: installing Chromium (playwright install chromium)" >&2
  if ! timeout 600 .venv/bin/python -m playwright install chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "setup: Playwright could not download its browser; installing Debian's chromium" >&2
      (apt-get install -y -qq chromium >/dev/null 2>&1 \
        || (apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null))
    else
      echo "setup: no Chromium. Install one (e.g. 'sudo apt-get install chromium') or set BIJIA_CHROMIUM" \
           "to a Chromium/Chrome executable, then run this again." >&2
      exit 1
    fi
  fi
fi
.venv/bin/python -m crawler.browser >/dev/null || { .venv/bin/python -m crawler.browser >&2; exit 1; }

# Redis, for the distributed crawl (`bijia worker` / `bijia collect`) and its tests: Debian's redis-server.
# Only installed here; the tests start their own server on 127.0.0.1 and a free port.
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's redis-server" >&2
    (apt-get install -y -qq redis-server >/dev/null 2>&1 \
      || (apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null)) \
      || echo "setup: could not install redis-server; the distributed-crawl tests will be skipped" >&2
  else
    echo "setup: no redis-server; the distributed-crawl tests will be skipped (apt-get install redis-server)" >&2
  fi
fi
