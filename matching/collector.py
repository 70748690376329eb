"""Python's cycle collector paused around the matcher's bulk builders and a whole match."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a block that makes many short-lived objects and no cycles
    (prepared rows, record tables): its passes over every live object would cost more than the block."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
