"""Hostile shops: what a crawl of each costs (wall time, peak RSS) and how it ends; and how long a
`bijia run` takes to stop after SIGINT when a shop announces three million pages.

    .venv/bin/python -m benchmarks.bench_hostile                       # every probe, 3 repeats
    .venv/bin/python -m benchmarks.bench_hostile --only huge,stop --repeats 5
    .venv/bin/python -m benchmarks.bench_hostile --tree /path/to/other/checkout   # the same probes, other code

Each probe crawls the healthy ``calm`` shop beside one hostile shop of ``demo.hostile`` (at the sizes of
the issue: a 50 MB body, a 1 GB gzip bomb, 100,000 offers …) with the default limits. ``--tree`` runs
``bijia`` from another checkout (e.g. main), with this checkout's hostile server, to compare before/after;
``--timeout`` bounds each run (a probe that never ends is reported as such).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import PYTHON, ROOT, median
from demo.hostile import SECRET_PAGE, HostileServer, Sizes

PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print('peak_rss_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


@dataclass(frozen=True)
class Probe:
    shop: str
    sizes: Sizes = field(default_factory=Sizes)
    command: str = "crawl"
    sigint_after_pages: int = 0
    """Send SIGINT once the shop served this many pages (0: no signal)."""


PROBES = {
    "redirects": Probe("redirects"),
    "huge": Probe("huge"),
    "drip": Probe("drip", Sizes(drip_interval=0.5, drip_seconds=600)),
    "offerbomb": Probe("offerbomb"),
    "endless": Probe("endless"),
    "endless-api": Probe("endless-api"),
    "cursor": Probe("cursor"),
    "links": Probe("links"),
    "numbers": Probe("numbers"),
    "unstorable": Probe("unstorable"),
    "stop": Probe("woo-huge", command="run", sigint_after_pages=3),
}


@dataclass
class Outcome:
    code: int | None
    """``None``: still running at the timeout (killed)."""
    seconds: float
    after_sigint: float | None
    peak_mb: float | None
    summary: str


def run_probe(probe: Probe, tree: Path, timeout: float) -> Outcome:
    tmp = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    (tmp / "secret.html").write_text(SECRET_PAGE, encoding="utf-8")
    with (
        HostileServer().start() as internal,
        HostileServer(
            probe.sizes,
            secret_file=str(tmp / "secret.html"),
            internal_url=f"{internal.base_url}/calm/p/good-1",
        ) as server,
    ):
        config = tmp / "m.toml"
        config.write_text(server.marketplace_toml("calm") + "\n" + server.marketplace_toml(probe.shop))
        args = [PYTHON, "-c", PEAK_RSS, PYTHON, "-c", "from cli import app; app()", probe.command]
        args += ["--config", str(config), "--db", str(tmp / "b.duckdb")]
        args += ["--snapshots", str(tmp / "s")] if probe.command == "run" else []
        env = {**os.environ, "BIJIA_DOWNLOAD_TIMEOUT": "30"}
        started = time.monotonic()
        proc = subprocess.Popen(
            args, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        signalled = _interrupt(proc, server, probe, started + timeout)
        try:
            _, err = proc.communicate(timeout=max(1.0, started + timeout - time.monotonic()))
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            _, err = proc.communicate()
            code = None
        ended = time.monotonic()
    peak = err.rsplit("peak_rss_kb", 1)[1].split()[0] if "peak_rss_kb" in err else None
    return Outcome(
        code,
        ended - started,
        ended - signalled if signalled else None,
        int(peak) / 1024 if peak and code is not None else None,
        _summary(tree, tmp / "b.duckdb", probe.shop),
    )


def _interrupt(proc: subprocess.Popen, server: HostileServer, probe: Probe, deadline: float) -> float | None:
    if not probe.sigint_after_pages:
        return None
    while server.hits[probe.shop] < probe.sigint_after_pages and time.monotonic() < deadline:
        time.sleep(0.1)
    for child in _children(proc.pid):
        os.kill(child, signal.SIGINT)
    return time.monotonic()


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def _kill_tree(proc: subprocess.Popen) -> None:
    for child in _children(proc.pid):
        os.kill(child, signal.SIGKILL)
    proc.kill()


def _summary(tree: Path, db: Path, shop: str) -> str:
    if not db.exists():
        return "no database"
    done = subprocess.run(
        [
            PYTHON,
            "-c",
            "from cli import app; app()",
            "runs",
            "--db",
            str(db),
            "--format",
            "json",
            "--limit",
            "1",
        ],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    try:
        run = json.loads(done.stdout)[0]
    except (ValueError, IndexError):
        return "no run recorded"
    market = run["stats"].get("marketplaces", {}).get(shop, {})
    if not market:
        return f"run {run['status']}"
    return f"run {run['status']}; {shop} {market.get('status')}, {market.get('offers')} offers: {market.get('reason')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(PROBES), help="comma-separated probes: " + ", ".join(PROBES)
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before a run is killed")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose bijia runs")
    args = parser.parse_args(argv)
    print(
        f"tree {args.tree}; load {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}"
    )
    print(f"{'probe':12} {'exit':>5} {'wall s':>8} {'SIGINT→exit s':>14} {'peak MB':>8}  outcome")
    for name in args.only.split(","):
        outcomes = [run_probe(PROBES[name], args.tree, args.timeout) for _ in range(args.repeats)]
        codes = {o.code for o in outcomes}
        waits = [o.after_sigint for o in outcomes if o.after_sigint is not None]
        peaks = [o.peak_mb for o in outcomes if o.peak_mb is not None]
        print(
            f"{name:12} {'/'.join('killed' if c is None else str(c) for c in codes):>5} "
            f"{median([o.seconds for o in outcomes]):8.1f} "
            f"{median(waits) if waits else float('nan'):14.1f} {median(peaks) if peaks else float('nan'):8.0f}  "
            f"{outcomes[-1].summary}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
