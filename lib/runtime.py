"""Runtime helpers every app may use."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_gc() -> Iterator[None]:
    """Pause the cyclic collector for a burst of allocation whose results are not garbage
    (compiling policies, masking a read): on a large heap the passes that the burst
    triggers cost more than the work. The collector runs again as soon as the block ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
