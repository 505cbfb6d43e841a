"""Storing audit records: the record, its outbox rows and its place in the sealer's queue,
written together (one round trip on PostgreSQL), retried, or given up on loudly.

``insert`` writes within the caller's transaction; ``insert_retrying`` retries in fresh
transactions with the same id (a retry after a commit that did land cannot duplicate the
record) and raises ``AuditUnavailable`` when the record cannot be written.
"""

from __future__ import annotations

import functools
import logging
import time

from django.db import DatabaseError, connection, transaction

from audit import chain
from audit.documents import Draft
from audit.models import AuditRecord, Delivery, PendingSeal
from audit.scheduling import kick
from lib import metrics
from lib.errors import OperationError

log = logging.getLogger("flex.audit")

RETRY_PAUSES = (0.2, 0.8)  # seconds between attempts to write a record


class AuditUnavailable(OperationError):
    """The audit record could not be written; the message says whether the action happened."""

    code = "audit_unavailable"
    status = 503


def insert(draft: Draft) -> AuditRecord:
    """INSERT the record, its outbox rows and its pending seal together; kick delivery and
    sealing once they commit."""
    if connection.vendor == "postgresql":
        _insert_one_statement(draft)
    else:
        with transaction.atomic(savepoint=False):
            draft.record.save(force_insert=True)
            Delivery.objects.bulk_create(
                Delivery(record=draft.record, sink=sink, next_attempt_at=draft.record.ts)
                for sink in draft.outbox
            )
            PendingSeal.objects.create(record=draft.record)
    jobs = [*draft.outbox, chain.JOB]
    transaction.on_commit(lambda: kick(jobs), robust=True)
    outcome = draft.record.outcome
    transaction.on_commit(lambda: metrics.record_written(outcome), robust=True)
    return draft.record


def _insert_one_statement(draft: Draft) -> None:
    """Record, outbox rows and pending seal in one round trip and one commit.

    Several INSERTs in one query string: PostgreSQL runs the statements of one simple
    query as one transaction (client-side binding, Django's default, sends it so). With
    server-side binding, a single statement with CTEs does the same, a little slower.
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
            params.append(record.id)
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
_SEAL_COLUMNS = "(record_id, refused_at, reason)"


@functools.cache
def _insert_sql(sinks: int) -> str:
    statements = [_insert_record_sql()]
    if sinks:
        rows = ", ".join([f"(%s, %s, %s, '{Delivery.PENDING}', 0, '')"] * sinks)
        statements.append(f"INSERT INTO {Delivery._meta.db_table} {_OUTBOX_COLUMNS} VALUES {rows}")
    statements.append(
        f"INSERT INTO {PendingSeal._meta.db_table} {_SEAL_COLUMNS} VALUES (%s, NULL, '')"
    )
    return "; ".join(statements)


@functools.cache
def _insert_cte_sql() -> str:
    return (
        f"WITH r AS ({_insert_record_sql()} RETURNING id), "
        f"q AS (INSERT INTO {PendingSeal._meta.db_table} {_SEAL_COLUMNS} "
        "SELECT r.id, NULL, '' FROM r) "
        f"INSERT INTO {Delivery._meta.db_table} {_OUTBOX_COLUMNS} "
        f"SELECT r.id, s.sink, %s, '{Delivery.PENDING}', 0, '' "
        "FROM r, unnest(%s::varchar[]) AS s(sink)"
    )


def insert_retrying(draft: Draft, *, happened: bool) -> AuditRecord:
    """``insert``, retried in fresh transactions; AuditUnavailable when it cannot be done.

    ``happened``: the action took place (the message says it happened unrecorded).
    Inside a caller's transaction nothing is retried: that transaction is what failed.
    """
    pauses = () if connection.in_atomic_block else RETRY_PAUSES
    error: DatabaseError | None = None
    for pause in (0.0, *pauses):
        if error is not None:
            time.sleep(pause)
            connection.close_if_unusable_or_obsolete()
        try:
            return insert(draft)
        except DatabaseError as exc:
            error = exc
            if _landed(draft):
                return draft.record
    return _give_up(draft, error, happened)


def _landed(draft: Draft) -> bool:
    """Whether an insert that reported an error committed after all (a lost COMMIT reply)."""
    if connection.in_atomic_block:
        return False
    try:
        connection.close_if_unusable_or_obsolete()
        return AuditRecord.objects.filter(pk=draft.record.pk).exists()
    except DatabaseError:
        return False


def _give_up(draft: Draft, error: Exception | None, happened: bool) -> AuditRecord:
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
