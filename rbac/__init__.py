"""Who may do what. ``rbac.decide`` is the engine's entry point."""

from __future__ import annotations


def decide(roles, action, resource):
    from rbac.engine import decide as _decide

    return _decide(roles, action, resource)
