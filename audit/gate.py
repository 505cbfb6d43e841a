"""The gate: the one path every user action takes.

``perform`` decides with RBAC, executes only when allowed, and writes exactly one
AuditRecord whatever happened; ``record_event`` records what is not an
operation (sign-in, sign-out, refused sign-in, data reads that are not operations).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest

import rbac
from audit.models import AuditRecord, uuid7
from audit.records import redact
from rbac.engine import Decision
from rbac.roles import Actor

log = logging.getLogger("flex.audit")


class OperationError(Exception):
    """An operation failed in a way the user should be told about (a Kafka error, bad input).

    ``code`` is a short machine-readable name (``topic_exists``); ``status`` the HTTP
    status an API answers with.
    """

    code = "operation_failed"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


@dataclass(frozen=True)
class Ctx:
    """Where a request came from."""

    client_ip: str = ""
    user_agent: str = ""
    via: str = "ui"
    cluster_id: str | None = None

    def as_record(self) -> dict:
        data: dict = {}
        if self.cluster_id is not None:
            data["cluster-id"] = self.cluster_id
        data.update(
            {
                "via": self.via,
                "client-ip": self.client_ip,
                "user-agent": self.user_agent,
            }
        )
        return data


def ctx_from_request(
    request: HttpRequest, *, via: str = "ui", cluster_id: str | None = None
) -> Ctx:
    return Ctx(
        client_ip=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        via=via,
        cluster_id=cluster_id,
    )


@dataclass(frozen=True)
class Operation:
    """An action declared once: its event, RBAC action, resource, request and how to run it."""

    event: str  # e.g. "mutation/create-topic"
    action: str  # e.g. "TOPIC_CREATE"
    resource: Sequence[str]  # e.g. ["cluster", id, "topic", name]
    request: dict
    execute: Callable[[], Any]
    type: str = "mutation/request"
    sensitive_keys: frozenset[str] = field(default_factory=frozenset)


@dataclass
class Outcome:
    status: str  # succeeded | failed | denied
    result: Any = None
    error: str | None = None
    code: str | None = None
    http_status: int = 200
    decision: Decision | None = None
    record: AuditRecord | None = None

    @property
    def ok(self) -> bool:
        return self.status == AuditRecord.SUCCEEDED


def perform(actor: Actor, operation: Operation, ctx: Ctx) -> Outcome:
    """Decide, execute if allowed, and write exactly one audit record."""
    decision = rbac.decide(actor.roles, operation.action, operation.resource)
    if not decision.success:
        outcome = Outcome(
            AuditRecord.DENIED,
            error=f"{operation.action} is not allowed on {'/'.join(operation.resource)}",
            code="denied",
            http_status=403,
        )
    else:
        outcome = _execute(operation)
    outcome.decision = decision
    request = {**operation.request, "request/ctx": {"cluster-id": ctx.cluster_id}}
    outcome.record = write_record(
        actor=actor,
        type=operation.type,
        event=operation.event,
        request=request,
        ctx=ctx,
        status=outcome.status,
        error=outcome.error,
        rbac=decision.as_record(),
        action=operation.action,
        resource=operation.resource,
        sensitive_keys=operation.sensitive_keys,
    )
    return outcome


def _execute(operation: Operation) -> Outcome:
    try:
        result = operation.execute()
    except OperationError as exc:
        return Outcome(AuditRecord.FAILED, error=exc.message, code=exc.code, http_status=exc.status)
    except Exception as exc:  # never a 500: an unexpected failure is a failed outcome
        log.exception("operation %s failed unexpectedly", operation.event)
        return Outcome(
            AuditRecord.FAILED,
            error=f"unexpected error: {type(exc).__name__}",
            code="internal_error",
            http_status=500,
        )
    return Outcome(AuditRecord.SUCCEEDED, result=result)


def record_event(
    *,
    actor: Actor | None,
    type: str,
    event: str,
    request: dict,
    ctx: Ctx,
    status: str = AuditRecord.SUCCEEDED,
    error: str | None = None,
    user: dict | None = None,
    action: str = "",
    resource: Sequence[str] = (),
) -> AuditRecord:
    """Record an event that is not an operation (``auth/…``, ``query/…``)."""
    return write_record(
        actor=actor,
        type=type,
        event=event,
        request=request,
        ctx=ctx,
        status=status,
        error=error,
        rbac=None,
        action=action,
        resource=resource,
        user=user,
    )


def write_record(
    *,
    actor: Actor | None,
    type: str,
    event: str,
    request: dict,
    ctx: Ctx,
    status: str,
    error: str | None,
    rbac: dict | None,
    action: str,
    resource: Sequence[str],
    user: dict | None = None,
    sensitive_keys: frozenset[str] = frozenset(),
) -> AuditRecord:
    record_id = uuid7()
    ts_ms = time.time_ns() // 1_000_000
    user_block = user if user is not None else (actor.as_record() if actor else {})
    data: dict = {"user": user_block, "event": [event, request]}
    if rbac is not None:
        data["rbac"] = rbac
    data["response"] = {"status": status, "error": error}
    document = redact(
        {
            "id": str(record_id),
            "ts": ts_ms,
            "type": type,
            "data": data,
            "ctx": ctx.as_record(),
        },
        sensitive_keys,
    )
    resource = list(resource)
    with transaction.atomic():
        record = AuditRecord.objects.create(
            id=record_id,
            ts=datetime.fromtimestamp(ts_ms / 1000, tz=UTC),
            flex_user_id=actor.flex_id if actor else None,
            user_pk=actor.user_pk if actor else None,
            login=(actor.login if actor else user_block.get("login") or "")[:150],
            type=type,
            event=event,
            action=action,
            outcome=status,
            cluster_id=(ctx.cluster_id or "")[:100],
            resource_name=(resource[3] if len(resource) >= 4 else "")[:300],
            document=document,
        )
        transaction.on_commit(lambda: _after_commit(record))
    return record


def _after_commit(record: AuditRecord) -> None:
    """Hand the record to delivery. Replaced by the outbox when sinks exist."""
    try:
        from audit import delivery
    except ImportError:
        return
    delivery.schedule(record)
