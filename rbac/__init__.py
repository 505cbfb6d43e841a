"""Who may do what. ``rbac.decide`` is the engine's entry point."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rbac.engine import Decision


def decide(roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
    """Decide whether a holder of ``roles`` may take ``action`` on ``resource``."""
    from rbac.engine import decide as _decide

    return _decide(roles, action, resource)
