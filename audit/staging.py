"""Staging: how the gate turns an action a Stage policy holds back into a request for approval.

The gate knows two hooks, and imports neither side: the *stager*, which stores the request
(the approvals app registers it), and the *rebuilders*, one per event, registered by the module
that owns those operations (topics; consumer groups later), which build the operation again
from the JSON-able input it was staged with (``Operation.stored``), validating it again. An
operation can be staged when it carries that input and its event has a rebuilder.

``digest`` binds a request to what it will run: a sha256 over the canonical JSON of its event,
resource and stored input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from lib.errors import OperationError

if TYPE_CHECKING:
    from audit.gate import Ctx, Operation
    from audit.models import AuditRecord
    from rbac.roles import Actor


@dataclass(frozen=True)
class Staged:
    """What the stager stores: the request's id, who asked, the operation, its record."""

    approval_id: UUID
    actor: Actor
    operation: Operation
    record: AuditRecord
    ctx: Ctx


_stager: Callable[[Staged], None] | None = None
_rebuilders: dict[str, Callable[[dict], Operation]] = {}


def set_stager(stager: Callable[[Staged], None]) -> None:
    global _stager
    _stager = stager


def stager() -> Callable[[Staged], None] | None:
    return _stager


def register(event: str, rebuild: Callable[[dict], Operation]) -> None:
    """Declare how operations of ``event`` are built again from their stored input."""
    _rebuilders[event] = rebuild


def stageable(operation: Operation) -> bool:
    return _stager is not None and operation.stored is not None and operation.event in _rebuilders


def rebuild(stored: dict) -> Operation:
    """The operation a stored input describes; ``OperationError`` if nothing can build it."""
    event = stored.get("event") if isinstance(stored, dict) else None
    build = _rebuilders.get(event) if isinstance(event, str) else None
    if build is None:
        raise OperationError(f"no operation {event!r} can be run again", code="not_rebuildable")
    return build(stored)


def digest(event: str, resource: Sequence[str], stored: Any) -> str:
    """sha256 over the canonical JSON of event, resource and stored input."""
    text = json.dumps(
        {"event": event, "resource": list(resource), "input": stored},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
