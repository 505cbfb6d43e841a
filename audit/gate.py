"""The gate: the one path every user action takes.

``perform`` decides with RBAC, executes only when allowed, and writes exactly one
AuditRecord whatever happened; ``record_event`` records what is not an
operation (sign-in, sign-out, refused sign-in, data reads that are not operations).

When a Stage policy decides, nothing is executed: an operation that can be staged
(``audit.staging``) becomes a request for approval, stored with its ``staged`` record in
one transaction (answered 202); one that cannot is refused (``not_stageable``, 403). Input that
is already known to be wrong fails as it would have when executed; a preview (a dry run,
``Operation.previews``) runs, as it changes nothing.

What if the record cannot be written (the database is failing)?

- ``execute`` runs in the same transaction as the record: database changes an operation
  makes commit together with its record or not at all. If ``execute`` raises, its
  changes roll back and the failed record is written in a fresh transaction.
- If the record of a succeeded operation cannot be written and the operation changed
  the database, those changes are rolled back with it: the gate raises
  ``AuditUnavailable`` (503) saying the action did not happen.
- If the operation only acted outside the database (a Kafka call that cannot be undone),
  the gate retries writing its record, with the same id so a retry after a commit that
  did land cannot duplicate it; if that fails too, it logs the whole redacted record at
  CRITICAL and raises ``AuditUnavailable`` saying the action happened unrecorded.
- Denied and failed outcomes are written with the same retries, then ``AuditUnavailable``.

Inside a caller's transaction (``atomic``) nothing is retried: the caller's transaction
is what failed. No path returns an outcome without its record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest

from audit import staging
from audit.documents import Draft, Event, draft
from audit.models import AuditRecord, uuid7
from audit.store import AuditUnavailable, insert, insert_retrying
from lib import metrics
from lib.errors import OperationError
from rbac.door import authorize
from rbac.engine import Decision
from rbac.index import STAGE
from rbac.roles import Actor, actor_for_user

__all__ = [
    "AuditUnavailable",
    "Ctx",
    "Operation",
    "OperationError",
    "Outcome",
    "ctx_from_request",
    "perform",
    "record_event",
]

log = logging.getLogger("flex.audit")


@dataclass(frozen=True)
class Ctx:
    """Where a request came from."""

    client_ip: str = ""
    user_agent: str = ""
    via: str = "ui"
    cluster_id: str | None = None
    # Every record of one approval request carries its id; its execution, who asked.
    correlation_id: str | None = None
    requested_by: str | None = None

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
        if self.correlation_id is not None:
            data["correlation-id"] = self.correlation_id
        if self.requested_by is not None:
            data["requested-by"] = self.requested_by
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


# Who acts when a change comes from the command line (manage.py rbac_import, …).
CLI_USER = {"provider": "local", "email": "", "name": "", "login": "cli", "id": None}
# Who acts when Flex itself does something nobody asked for just then (an expiry).
SYSTEM_USER = {"provider": "flex", "email": "", "name": "Flex", "login": "flex", "id": None}


def who(
    request: HttpRequest | None, *, via: str, user=None
) -> tuple[Actor | None, dict | None, Ctx]:
    """Who acts and from where, for a record that is not an operation: the signed-in user
    (``user``, else the request's), else the command line (no request), else a caller who
    is not signed in; ``via="system"`` without either is Flex itself (``SYSTEM_USER``).
    ``record_event`` takes the three as ``actor``, ``user`` and ``ctx``."""
    user = user if user is not None else getattr(request, "user", None)
    ctx = ctx_from_request(request, via=via) if request is not None else Ctx(via=via)
    if user is not None and user.is_authenticated:
        return actor_for_user(user), None, ctx
    if request is None:
        return None, SYSTEM_USER if via == "system" else CLI_USER, ctx
    return None, {}, ctx


@dataclass(frozen=True)
class Operation:
    """An action declared once: its event, RBAC action, resource, request and how to run it."""

    event: str  # e.g. "mutation/create-topic"
    action: str  # e.g. "TOPIC_CREATE"
    resource: Sequence[str]  # e.g. ["cluster", id, "topic", name]
    request: dict
    execute: Callable[[], Any]
    type: str = "mutation/request"
    # Config names whose values are secret; an operation may add to it as it runs.
    sensitive_keys: AbstractSet[str] = field(default_factory=frozenset)
    # The JSON-able input it is built again from when staged (``audit.staging``), None if
    # it cannot be staged; and what is already known to be wrong with that input.
    stored: dict | None = None
    input_error: OperationError | None = None
    # A preview of a change (a dry run): it changes nothing, so a Stage decision lets it run:
    # one may see the plan of what one may request.
    previews: bool = False


@dataclass
class Outcome:
    status: str  # succeeded | failed | denied | staged (result: {"approval": id})
    result: Any = None
    error: str | None = None
    code: str | None = None
    http_status: int = 200
    decision: Decision | None = None
    record: AuditRecord | None = None

    @property
    def ok(self) -> bool:
        return self.status == AuditRecord.SUCCEEDED


def perform(actor: Actor, operation: Operation, ctx: Ctx, *, stage: bool = True) -> Outcome:
    """Decide, execute if allowed (stage if a Stage policy decides), and write exactly one
    audit record. ``stage=False``: a Stage decision refuses (an approved request running).

    Raises ``AuditUnavailable`` only when the record cannot be written (see above).
    """
    decision = _decide(actor, operation)

    def drafted(outcome: Outcome, ctx: Ctx = ctx) -> Draft:
        # Drafted after execute: an operation may add what it learnt (values before a change).
        request = {**operation.request, "request/ctx": {"cluster-id": ctx.cluster_id}}
        return draft(
            Event(
                actor=actor,
                type=operation.type,
                event=operation.event,
                request=request,
                ctx=ctx.as_record(),
                cluster_id=ctx.cluster_id,
                status=outcome.status,
                error=outcome.error,
                rbac=decision.as_record(),
                action=operation.action,
                resource=operation.resource,
                sensitive_keys=frozenset(operation.sensitive_keys),
            )
        )

    held = decision.effect == STAGE and not decision.success  # a Stage policy decided
    if held and operation.input_error is not None:
        outcome = _failed(operation, operation.input_error)
    elif held and operation.previews:
        outcome = _execute_recorded(operation, drafted)
    elif held and stage and staging.stageable(operation):
        return _stage(actor, operation, ctx, decision, drafted)
    elif not decision.success:
        outcome = _refused(operation, decision)
    else:
        outcome = _execute_recorded(operation, drafted)
    outcome.decision = decision
    if outcome.record is None:
        record = drafted(outcome)
        outcome.error = record.document["data"]["response"]["error"]
        outcome.record = insert_retrying(record, happened=False)
    return outcome


def _refused(operation: Operation, decision: Decision) -> Outcome:
    error = (
        decision.reason or f"{operation.action} is not allowed on {'/'.join(operation.resource)}"
    )
    code = decision.code
    if decision.effect == STAGE:  # a Stage decision for what cannot be staged (or run again)
        error, code = f"{error}, and this request cannot be staged", "not_stageable"
    return Outcome(AuditRecord.DENIED, error=error, code=code, http_status=403)


def _stage(
    actor: Actor,
    operation: Operation,
    ctx: Ctx,
    decision: Decision,
    drafted: Callable[[Outcome, Ctx], Draft],
) -> Outcome:
    """Store the request for approval with its ``staged`` record, in one transaction."""
    approval_id = uuid7()
    ctx = replace(ctx, correlation_id=str(approval_id))
    outcome = Outcome(AuditRecord.STAGED, code="staged", http_status=202, decision=decision)
    pending = drafted(outcome, ctx)
    try:
        with transaction.atomic():
            record = insert(pending)
            staging.stager()(staging.Staged(approval_id, actor, operation, record, ctx))
    except DatabaseError as exc:
        raise AuditUnavailable(
            f"{operation.event} was not staged: its request could not be stored ({exc})"
        ) from exc
    outcome.record, outcome.result = record, {"approval": str(approval_id)}
    return outcome


def _decide(actor: Actor, operation: Operation) -> Decision:
    try:
        decision = authorize(actor, operation.action, operation.resource)
    except DatabaseError as exc:
        raise AuditUnavailable(
            f"{operation.event} was not attempted: the policies could not be read ({exc})"
        ) from exc
    metrics.rbac_decided(decision.success)
    return decision


class _Failed(Exception):
    """``execute`` raised: roll its transaction back, then record the failure."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def _execute_recorded(operation: Operation, draft: Callable[[Outcome], Draft]) -> Outcome:
    """Run ``execute``; write its succeeded record in the same transaction if it wrote to
    the database, else right after it (one statement, nothing to roll back together).

    Returns a failed outcome without a record when ``execute`` raised (its transaction
    rolled back; the caller records it).
    """
    probe = _WriteProbe()
    outcome: Outcome | None = None
    try:
        with transaction.atomic():
            try:
                with connection.execute_wrapper(probe):
                    result = operation.execute()
            except Exception as exc:
                raise _Failed(_failed(operation, exc)) from exc
            outcome = Outcome(AuditRecord.SUCCEEDED, result=result)
            if probe.wrote:
                outcome.record = insert(draft(outcome))
    except _Failed as failed:
        return failed.outcome
    except DatabaseError as exc:
        if outcome is None:  # the transaction broke before execute ran
            return _failed(operation, exc)
        if probe.wrote:
            raise AuditUnavailable(
                f"{operation.event} was rolled back: its audit record could not be written ({exc})"
            ) from exc
        outcome.record = None
    if outcome.record is None:
        # Only outside the database (Kafka): it happened, so its record must be written.
        outcome.record = insert_retrying(draft(outcome), happened=True)
    return outcome


def _failed(operation: Operation, exc: Exception) -> Outcome:
    if isinstance(exc, OperationError):
        return Outcome(AuditRecord.FAILED, error=exc.message, code=exc.code, http_status=exc.status)
    # Never a 500: an unexpected failure is a failed outcome.
    log.error("operation %s failed unexpectedly", operation.event, exc_info=exc)
    return Outcome(
        AuditRecord.FAILED,
        error=f"unexpected error: {type(exc).__name__}",
        code="internal_error",
        http_status=500,
    )


class _WriteProbe:
    """Notices whether ``execute`` wrote to the database (anything but reads)."""

    READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SET", "SHOW")

    def __init__(self) -> None:
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):
        if not self.wrote and not str(sql).lstrip().upper().startswith(self.READS):
            self.wrote = True
        return execute(sql, params, many, context)


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
    """Record an event that is not an operation (``auth/…``, ``query/…``); raises
    ``AuditUnavailable`` when it cannot be written."""
    happened = Event(
        actor=actor,
        type=type,
        event=event,
        request=request,
        ctx=ctx.as_record(),
        cluster_id=ctx.cluster_id,
        status=status,
        error=error,
        action=action,
        resource=resource,
        user=user,
    )
    return insert_retrying(draft(happened), happened=False)
