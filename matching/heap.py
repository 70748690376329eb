"""glibc's malloc told to keep freed memory for reuse while the matcher works.

Scoring a batch makes thousands of numpy temporaries of a few hundred KiB. By default glibc maps the larger
ones afresh and hands the free top of its heap back to the system as soon as it passes a small threshold, so
the next temporaries fault fresh, zeroed pages in again: ≈ 10,000–15,000 page faults per 10,000 Chinese
pairs, 10–15 % of the scoring time. Here blocks up to 32 MiB come from the heap (glibc's own ceiling for the
threshold it slides by itself, which setting the pad would otherwise freeze wherever it is) and the heap keeps
64 MiB free at its top (pages already touched stay resident; nothing is allocated up front). The numbers
computed are the same.
"""

from __future__ import annotations

import ctypes
import os

TOP_PAD = 64 << 20
MMAP_THRESHOLD = 32 << 20
_M_TOP_PAD, _M_MMAP_THRESHOLD = -2, -3  # glibc <malloc.h>
_done = False


def keep_freed_memory() -> None:
    """Once per process, on glibc only (elsewhere nothing), and not when the user tunes malloc already."""
    global _done
    if _done:
        return
    _done = True
    if any(k.startswith("MALLOC_") for k in os.environ) or not _glibc():
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_TOP_PAD, TOP_PAD)
    except (OSError, AttributeError):  # no such function after all
        return


def release_freed_memory() -> None:
    """Hand the free pages inside glibc's heap back to the system (``malloc_trim``), on glibc only. Before
    forking: a worker that reused the parent's freed pages would copy them first."""
    if not _glibc():
        return
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # no such function after all
        return


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):  # another C library, or no confstr (Windows)
        return False
