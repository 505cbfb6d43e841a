"""The gate: the one path every user action takes.

``perform`` decides with RBAC, executes only when allowed, and writes exactly one
AuditRecord whatever happened; ``record_event`` records what is not an
operation (sign-in, sign-out, refused sign-in, data reads that are not operations).

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

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest

import rbac
from audit import chain, delivery
from audit.models import AuditRecord, Delivery, uuid7
from audit.records import clean_text, redact, scrub
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


class AuditUnavailable(OperationError):
    """The audit record could not be written; the message says whether the action happened."""

    code = "audit_unavailable"
    status = 503


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
    """Decide, execute if allowed, and write exactly one audit record.

    Raises ``AuditUnavailable`` only when the record cannot be written (see above).
    """
    decision = _decide(actor, operation)
    request = {**operation.request, "request/ctx": {"cluster-id": ctx.cluster_id}}

    def draft(outcome: Outcome) -> _Draft:
        return _draft(
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

    if not decision.success:
        outcome = Outcome(
            AuditRecord.DENIED,
            error=f"{operation.action} is not allowed on {'/'.join(operation.resource)}",
            code="denied",
            http_status=403,
        )
    else:
        outcome = _execute_recorded(operation, draft)
    outcome.decision = decision
    if outcome.record is None:
        record = draft(outcome)
        outcome.error = record.document["data"]["response"]["error"]
        outcome.record = _insert_retrying(record, happened=False)
    return outcome


def _decide(actor: Actor, operation: Operation) -> Decision:
    try:
        return rbac.decide(actor.roles, operation.action, operation.resource)
    except DatabaseError as exc:
        raise AuditUnavailable(
            f"{operation.event} was not attempted: the policies could not be read ({exc})"
        ) from exc


class _Failed(Exception):
    """``execute`` raised: roll its transaction back, then record the failure."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def _execute_recorded(operation: Operation, draft: Callable[[Outcome], _Draft]) -> Outcome:
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
                outcome.record = _insert(draft(outcome))
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
        outcome.record = _insert_retrying(draft(outcome), happened=True)
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
    """Write one record (redacted, with its MAC and outbox rows); raises AuditUnavailable."""
    record = _draft(
        actor=actor,
        type=type,
        event=event,
        request=request,
        ctx=ctx,
        status=status,
        error=error,
        rbac=rbac,
        action=action,
        resource=resource,
        user=user,
        sensitive_keys=sensitive_keys,
    )
    return _insert_retrying(record, happened=False)


@dataclass
class _Draft:
    record: AuditRecord
    outbox: list[str]  # the sinks (and the chain) it gets a Delivery row for

    @property
    def document(self) -> dict:
        return self.record.document


def _draft(
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
) -> _Draft:
    """The record as it will be stored: redacted document, indexed columns, MAC, outbox."""
    record_id = uuid7()
    ts_ms = time.time_ns() // 1_000_000
    user_block = user if user is not None else (actor.as_record() if actor else {})
    data: dict = {"user": user_block, "event": [event, request]}
    if rbac is not None:
        data["rbac"] = rbac
    data["response"] = {"status": status, "error": error}
    secrets: set[str] = set()
    document = redact(
        {"id": str(record_id), "ts": ts_ms, "type": type, "data": data, "ctx": ctx.as_record()},
        sensitive_keys,
        secrets,
    )
    # The error as redact() left it (NUL and lone surrogates replaced: jsonb refuses them),
    # with any secret it quotes scrubbed.
    document["data"]["response"]["error"] = scrub(document["data"]["response"]["error"], secrets)
    resource = list(resource)
    record = AuditRecord(
        id=record_id,
        ts=datetime.fromtimestamp(ts_ms / 1000, tz=UTC),
        flex_user_id=actor.flex_id if actor else None,
        user_pk=actor.user_pk if actor else None,
        login=clean_text(actor.login if actor else user_block.get("login") or "")[:150],
        type=clean_text(type)[:40],
        event=clean_text(event)[:80],
        action=clean_text(action)[:40],
        outcome=status,
        cluster_id=clean_text(ctx.cluster_id or "")[:100],
        resource_name=clean_text(str(resource[3]) if len(resource) >= 4 else "")[:300],
        document=document,
    )
    record.mac = chain.record_mac(record)
    return _Draft(record, delivery.outbox_for(record.type))


def _insert(draft: _Draft) -> AuditRecord:
    """INSERT the record and its outbox rows together; kick delivery once they commit."""
    if connection.vendor == "postgresql":
        _insert_one_statement(draft)
    else:
        with transaction.atomic(savepoint=False):
            draft.record.save(force_insert=True)
            Delivery.objects.bulk_create(
                Delivery(record=draft.record, sink=sink, next_attempt_at=draft.record.ts)
                for sink in draft.outbox
            )
    transaction.on_commit(lambda: delivery.kick(draft.outbox), robust=True)
    return draft.record


def _insert_one_statement(draft: _Draft) -> None:
    """Record and outbox rows in one round trip and one commit.

    Two INSERTs in one query string: PostgreSQL runs the statements of one simple query
    as one transaction (client-side binding, Django's default, sends it so). With
    server-side binding, a single statement with a CTE does the same, a little slower.
    """
    record = draft.record
    params = [getattr(record, name) for name in _record_attnames()]
    document = AuditRecord._meta.get_field("document")
    params[_record_attnames().index("document")] = document.get_db_prep_save(
        record.document, connection
    )
    with connection.cursor() as cursor:
        if _client_side_binding():
            for sink in draft.outbox:
                params += [record.id, sink, record.ts]
            cursor.execute(_insert_sql(len(draft.outbox)), params)
        else:
            params += [record.ts, draft.outbox]
            cursor.execute(_insert_cte_sql(), params)


def _client_side_binding() -> bool:
    return not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")


@functools.cache
def _record_attnames() -> list[str]:
    return [f.attname for f in AuditRecord._meta.concrete_fields]


@functools.cache
def _insert_record_sql() -> str:
    fields = AuditRecord._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {AuditRecord._meta.db_table} ({columns}) VALUES ({marks})"


_OUTBOX_COLUMNS = "(record_id, sink, next_attempt_at, status, attempts, last_error)"


@functools.cache
def _insert_sql(sinks: int) -> str:
    rows = ", ".join([f"(%s, %s, %s, '{Delivery.PENDING}', 0, '')"] * sinks)
    outbox = f"INSERT INTO {Delivery._meta.db_table} {_OUTBOX_COLUMNS} VALUES {rows}"
    return f"{_insert_record_sql()}; {outbox}" if sinks else _insert_record_sql()


@functools.cache
def _insert_cte_sql() -> str:
    return (
        f"WITH r AS ({_insert_record_sql()} RETURNING id) "
        f"INSERT INTO {Delivery._meta.db_table} {_OUTBOX_COLUMNS} "
        f"SELECT r.id, s.sink, %s, '{Delivery.PENDING}', 0, '' "
        "FROM r, unnest(%s::varchar[]) AS s(sink)"
    )


RETRY_PAUSES = (0.2, 0.8)  # seconds between attempts to write a record


def _insert_retrying(draft: _Draft, *, happened: bool) -> AuditRecord:
    """``_insert``, retried in fresh transactions; AuditUnavailable when it cannot be done."""
    pauses = () if connection.in_atomic_block else RETRY_PAUSES
    error: DatabaseError | None = None
    for pause in (0.0, *pauses):
        if error is not None:
            time.sleep(pause)
            connection.close_if_unusable_or_obsolete()
        try:
            return _insert(draft)
        except DatabaseError as exc:
            error = exc
            if _landed(draft):
                return draft.record
    return _give_up(draft, error, happened)


def _landed(draft: _Draft) -> bool:
    """Whether an insert that reported an error committed after all (a lost COMMIT reply)."""
    if connection.in_atomic_block:
        return False
    try:
        connection.close_if_unusable_or_obsolete()
        return AuditRecord.objects.filter(pk=draft.record.pk).exists()
    except DatabaseError:
        return False


def _give_up(draft: _Draft, error: Exception | None, happened: bool) -> AuditRecord:
    record = draft.record
    log.critical(
        "audit: record %s could not be written (%s); the record: %s",
        record.pk,
        error,
        record.document,
    )
    what = record.event.split("/", 1)[-1]
    if happened:
        message = f"{what} succeeded, but its audit record could not be written ({error})"
    else:
        message = f"{what} ({record.outcome}) could not be recorded ({error})"
    raise AuditUnavailable(message) from error
