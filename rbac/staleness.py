"""This process's count of policy writes: models bump it, the engine recompiles when it moves.

It sits apart from both so that neither imports the other for it. The database trigger's
version stamp carries a write to every other process within a second; this count carries
it to this process at once (an admin sees their change on the next page).
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_writes = 0


def note_write() -> None:
    """Record that this process wrote to the policy table."""
    global _writes
    with _lock:
        _writes += 1


def writes() -> int:
    """How many policy writes this process has recorded."""
    return _writes
