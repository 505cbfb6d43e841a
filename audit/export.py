"""CSV export of audit records, streamed with flat memory.

On PostgreSQL the rows come from ``COPY (SELECT …) TO STDOUT`` through psycopg, with
formula cells neutralised in the SELECT; elsewhere (the SQLite file of ``make run``)
a server-side iterator feeds ``csv.writer`` through a pseudo-buffer. Both write the
same columns, and neither writes to the database: the stream runs after the view
has returned, outside any request transaction.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import QuerySet

HEADER = (
    "ts",
    "id",
    "user login",
    "name",
    "email",
    "provider",
    "type",
    "event",
    "action",
    "rbac success",
    "outcome",
    "error",
    "cluster id",
    "resource",
    "request",
    "client ip",
)

# Spreadsheets read a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024
ITERATOR_CHUNK = 2000

_T = '"audit_auditrecord"'
_D = f'{_T}."document"'
# (SQL expression, neutralise?) per column, in HEADER order.
_SQL_COLUMNS = (
    (f'to_char({_T}."ts" AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')', False),
    (f'{_T}."id"::text', False),
    (f'{_T}."login"', True),
    (f"{_D} #>> '{{data,user,name}}'", True),
    (f"{_D} #>> '{{data,user,email}}'", True),
    (f"{_D} #>> '{{data,user,provider}}'", True),
    (f'{_T}."type"', True),
    (f'{_T}."event"', True),
    (f'{_T}."action"', True),
    (f"{_D} #>> '{{data,rbac,success?}}'", False),
    (f'{_T}."outcome"', True),
    (f"{_D} #>> '{{data,response,error}}'", True),
    (f'{_T}."cluster_id"', True),
    (f'{_T}."resource_name"', True),
    (f"({_D} #> '{{data,event,1}}')::text", True),
    (f"{_D} #>> '{{ctx,client-ip}}'", True),
)


def neutralise(value: object) -> str:
    """The cell as text, with a leading quote when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _sql_neutralise(expr: str) -> str:
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_STARTS)
    # Parenthesised: ``||`` and ``#>>`` share a precedence level in PostgreSQL.
    return f"CASE WHEN left(({expr}), 1) IN ({starts}) THEN '''' || ({expr}) ELSE ({expr}) END"


def copy_statement(qs: QuerySet) -> tuple[str, list]:
    """``COPY (SELECT <export columns> … WHERE <qs's filters>) TO STDOUT`` and its params."""
    compiler = qs.query.get_compiler(using=qs.db)
    try:
        where, params = compiler.compile(qs.query.where)
    except EmptyResultSet:
        where, params = "FALSE", []
    except FullResultSet:
        where, params = "TRUE", []
    # NULLIF: COPY writes an empty string as "" (to tell it from NULL); csv.writer as nothing.
    columns = ", ".join(
        f"NULLIF({_sql_neutralise(sql) if wrap else sql}, '')" for sql, wrap in _SQL_COLUMNS
    )
    select = (
        f"SELECT {columns} FROM {_T} WHERE {where or 'TRUE'} "
        f'ORDER BY {_T}."ts" DESC, {_T}."id" DESC'
    )
    return f"COPY ({select}) TO STDOUT (FORMAT csv, ENCODING 'UTF8')", list(params)


def header_bytes() -> bytes:
    return (",".join(HEADER) + "\n").encode()


def stream_csv(qs: QuerySet) -> Iterator[bytes]:
    """The CSV file for ``qs`` in chunks of about 64 KB, header first."""
    if connections[qs.db].vendor == "postgresql":
        return _copy_stream(qs)
    return _python_stream(qs)


def _copy_stream(qs: QuerySet) -> Iterator[bytes]:
    statement, params = copy_statement(qs)
    buffer = bytearray(header_bytes())
    with connections[qs.db].cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        for data in copy:
            buffer += data
            if len(buffer) >= CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)


class _Echo:
    """The pseudo-buffer of Django's streaming CSV example: ``write`` hands the line back."""

    def write(self, value: str) -> str:
        return value


def _python_stream(qs: QuerySet) -> Iterator[bytes]:
    writer = csv.writer(_Echo(), lineterminator="\n")
    buffer = [writer.writerow(HEADER)]
    size = len(buffer[0])
    for record in qs.only(
        "id",
        "ts",
        "login",
        "type",
        "event",
        "action",
        "outcome",
        "cluster_id",
        "resource_name",
        "document",
    ).iterator(chunk_size=ITERATOR_CHUNK):
        line = writer.writerow(export_row(record))
        buffer.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def export_row(record) -> list[str]:
    """One record as the export's cells (the Python twin of ``_SQL_COLUMNS``)."""
    data = record.document.get("data", {}) if isinstance(record.document, dict) else {}
    user = data.get("user") or {}
    rbac = data.get("rbac") or {}
    response = data.get("response") or {}
    event = data.get("event") or []
    ctx = record.document.get("ctx", {}) if isinstance(record.document, dict) else {}
    success = rbac.get("success?")
    request = json.dumps(event[1], ensure_ascii=False) if len(event) > 1 else ""
    cells = [
        record.login,
        user.get("name"),
        user.get("email"),
        user.get("provider"),
        record.type,
        record.event,
        record.action,
    ]
    tail = [
        record.outcome,
        response.get("error"),
        record.cluster_id,
        record.resource_name,
        request,
        ctx.get("client-ip"),
    ]
    return [
        record.ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        str(record.id),
        *(neutralise(c) for c in cells),
        "" if success is None else str(success).lower(),
        *(neutralise(c) for c in tail),
    ]
