"""The matcher keeps freed memory for reuse (glibc): numpy temporaries of a few hundred KiB made and freed
over and over fault no fresh pages in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from matching.heap import _glibc

ROOT = Path(__file__).resolve().parents[1]
CHURN = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from matching.heap import keep_freed_memory
    keep_freed_memory()
def churn():
    parts = [np.ones(40_000 + k) for k in range(40)]  # 40 arrays of ≈ 320 KiB, freed together
    del parts
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str, **env: str) -> int:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", CHURN, mode],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(done.stdout)


@pytest.mark.skipif(not _glibc(), reason="the setting is glibc's (elsewhere keep_freed_memory does nothing)")
def test_freed_temporaries_are_reused_without_page_faults() -> None:
    default = _page_faults("default")
    assert default > 20_000  # glibc's default: each round faults its ≈ 12 MiB in again
    assert _page_faults("keep") < default / 20
    # a user's own malloc settings are left alone
    assert _page_faults("keep", MALLOC_TOP_PAD_="0") > default / 2
