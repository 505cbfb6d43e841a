"""CSV export of the Audit log and the User log: columns, filters, formula cells, the audit
record of the export itself, read-only streaming and flat memory at 100,000 records."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit import export
from audit.models import AuditRecord
from tests.audit.test_views import (
    client_for,
    isolate,
    make_records,
    persona_actor,
)


@pytest.fixture(autouse=True)
def isolated(settings) -> None:
    isolate(settings)


def download(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


def by_id(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header, *body = rows
    return {row[1]: dict(zip(header, row, strict=True)) for row in body}


def test_the_export_has_a_header_and_one_row_per_record_newest_first(personas):
    bob = persona_actor(personas["bob"])
    older = make_records(
        bob,
        2,
        outcome="denied",
        error="TOPIC_CREATE is not allowed",
        request={"topic-name": "tx-events", "partitions": "3"},
        client_ip="192.0.2.10",
    )
    newer = make_records(
        persona_actor(personas["alice"]),
        1,
        type="query/request",
        event="query/inspect-topic",
        action="TOPIC_INSPECT",
        resource="orders",
    )

    rows = download(client_for(personas["carol"]).get(reverse("audit-log-export")))

    assert rows[0] == list(export.HEADER)
    assert [row[1] for row in rows[1:]] == [str(r.id) for r in newer + older]
    row = by_id(rows)[str(older[0].id)]
    assert row == {
        "ts": older[0].ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z",
        "id": str(older[0].id),
        "user login": "bob",
        "name": "Bob Builder",
        "email": "bob@example.com",
        "provider": "github",
        "type": "mutation/request",
        "event": "mutation/create-topic",
        "action": "TOPIC_CREATE",
        "rbac success": "false",
        "outcome": "denied",
        "error": "TOPIC_CREATE is not allowed",
        "cluster id": "Enpl9Kw4QK6pwK0LaRVssQ",
        "resource": "tx-events",
        "request": row["request"],
        "client ip": "192.0.2.10",
    }
    assert json.loads(row["request"]) == {"topic-name": "tx-events", "partitions": "3"}
    assert by_id(rows)[str(newer[0].id)]["rbac success"] == ""


def test_the_export_honours_the_filters(personas):
    bob = persona_actor(personas["bob"])
    denied = make_records(bob, 3, outcome="denied")
    make_records(bob, 4)
    make_records(persona_actor(personas["alice"]), 2, outcome="denied")

    rows = download(
        client_for(personas["alice"]).get(
            reverse("audit-log-export"), {"outcome": "denied", "user": "bob"}
        )
    )

    assert [row[1] for row in rows[1:]] == [str(r.id) for r in denied]


def test_the_user_log_export_holds_only_the_users_own_records(personas):
    own = make_records(persona_actor(personas["bob"]), 2)
    make_records(persona_actor(personas["alice"]), 3)

    response = client_for(personas["bob"]).get(reverse("user-log-export"), {"user": "alice"})
    mine = client_for(personas["bob"]).get(reverse("user-log-export"))

    assert download(response)[1:] == []
    rows = download(mine)[1:]
    first_export = AuditRecord.objects.filter(event="query/export-audit-log").earliest("ts")
    assert [row[1] for row in rows] == [str(first_export.id)] + [str(r.id) for r in own]


FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x", '=HYPERLINK("http://x")']


@pytest.mark.parametrize("formula", FORMULAS)
def test_cells_that_start_a_formula_are_neutralised(personas, formula):
    bob = persona_actor(personas["bob"])
    record = make_records(
        bob, 1, resource=formula, error=formula, client_ip=formula, event=formula, cluster=formula
    )[0]

    row = by_id(download(client_for(personas["alice"]).get(reverse("audit-log-export"))))[
        str(record.id)
    ]

    for column in ("resource", "error", "client ip", "event", "cluster id"):
        assert row[column] == "'" + formula, column


@pytest.mark.parametrize("value", ["tx-events", "a=b", "1-2", "mail@example.com", "", "ünï 😀"])
def test_ordinary_cells_are_left_as_they_are(personas, value):
    record = make_records(persona_actor(personas["bob"]), 1, resource=value, error=value)[0]

    row = by_id(download(client_for(personas["alice"]).get(reverse("audit-log-export"))))[
        str(record.id)
    ]

    assert row["resource"] == value and row["error"] == value


def test_the_python_stream_writes_the_same_file_as_copy(personas):
    """The SQLite fallback (``make run``) and PostgreSQL's COPY give byte-identical files."""
    bob = persona_actor(personas["bob"])
    make_records(bob, 3, resource='quo"te,comma', error="line\nbreak", client_ip="=1")
    make_records(
        bob,
        2,
        type="auth/request",
        event="auth/sign-in",
        action="",
        resource="",
        request={"ünïcode": "😀", "n": [1, 2.5, None, True]},
    )
    qs = AuditRecord.objects.order_by("-ts", "-id")

    via_copy = b"".join(export._copy_stream(qs))
    via_python = b"".join(export._python_stream(qs))

    assert via_copy == via_python
    assert via_copy.count(b"\n") > 5


def test_the_export_is_audited_with_its_filters_and_row_count(personas):
    make_records(persona_actor(personas["bob"]), 5, outcome="denied")
    make_records(persona_actor(personas["bob"]), 2)

    response = client_for(personas["carol"]).get(
        reverse("audit-log-export"), {"outcome": "denied"}, HTTP_USER_AGENT="Auditor/1.0"
    )
    rows = download(response)

    record = AuditRecord.objects.get(event="query/export-audit-log")
    assert record.type == "query/request" and record.login == "carol"
    assert record.outcome == "succeeded"
    request = record.document["data"]["event"][1]
    assert request["filters"] == {"outcome": "denied"}
    assert request["row-count"] == 5 == len(rows) - 1
    assert request["log"] == "audit-log"
    assert record.document["ctx"]["user-agent"] == "Auditor/1.0"
    assert str(record.id) not in {row[1] for row in rows}
    assert response["X-Row-Count"] == "5"


def test_a_second_export_lists_the_first_one(personas):
    carol = client_for(personas["carol"])
    download(carol.get(reverse("audit-log-export")))

    rows = download(carol.get(reverse("audit-log-export")))

    assert [row[7] for row in rows[1:]] == ["query/export-audit-log"]


@pytest.mark.parametrize("params", [{"outcome": "nope"}, {"since": "soon"}, {"after": "x-y"}])
def test_an_export_with_invalid_filters_is_refused_and_not_recorded(personas, params):
    response = client_for(personas["carol"]).get(reverse("audit-log-export"), params)

    assert response.status_code == 400
    assert "Export not started" in response.content.decode()
    assert not AuditRecord.objects.filter(event="query/export-audit-log").exists()


def test_the_export_runs_pinned_queries_and_the_stream_writes_nothing(
    personas, django_assert_num_queries
):
    make_records(persona_actor(personas["bob"]), 30)
    carol = client_for(personas["carol"])
    carol.get(reverse("user-log"))  # session settled

    with django_assert_num_queries(6):  # the access settings come from the policy cache
        response = carol.get(reverse("audit-log-export"))
    # From here the stream runs alone; the database would refuse any write it tried.
    # (In a savepoint: rolling it back makes the test's transaction writable again.)
    savepoint = transaction.savepoint()
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION READ ONLY")
    with CaptureQueriesContext(connection) as streamed:
        rows = download(response)
    with pytest.raises(DatabaseError, match="read-only transaction"), transaction.atomic():
        make_records(persona_actor(personas["bob"]), 1)
    transaction.savepoint_rollback(savepoint)

    assert len(rows) == 31
    assert len(streamed) == 0


def test_an_abandoned_download_leaves_the_connection_usable(transactional_db, personas):
    """Autocommit, as in production: the COPY is cancelled and the connection goes on."""
    make_records(persona_actor(personas["bob"]), 3000, resource="r" * 200)
    response = client_for(personas["carol"]).get(reverse("audit-log-export"))

    first = next(iter(response.streaming_content))
    response.close()  # the browser went away: the WSGI server closes the response

    assert first.startswith(b"ts,id,")
    assert AuditRecord.objects.filter(login="bob").count() == 3000


BULK_INSERT = """
INSERT INTO audit_auditrecord
  (id, ts, flex_user_id, user_pk, login, type, event, action, outcome, cluster_id,
   resource_name, document, mac)
SELECT
  md5(g::text)::uuid, now() - g * interval '1 second', NULL, NULL, 'user' || (g %% 50),
  'mutation/request', 'mutation/create-topic', 'TOPIC_CREATE',
  CASE WHEN g %% 17 = 0 THEN 'denied' ELSE 'succeeded' END, 'cluster-1', 'topic-' || (g %% 1000),
  jsonb_build_object(
    'id', md5(g::text)::uuid, 'ts', 0, 'type', 'mutation/request',
    'data', jsonb_build_object(
      'user', jsonb_build_object('provider', 'github', 'login', 'user' || (g %% 50),
                                 'name', 'User ' || (g %% 50), 'email', 'u@example.com'),
      'event', jsonb_build_array('mutation/create-topic',
                                 jsonb_build_object('topic-name', 'topic-' || (g %% 1000),
                                                    'partitions', '3')),
      'rbac', jsonb_build_object('success?', true, 'action', 'TOPIC_CREATE',
                                 'policies', '[]'::jsonb),
      'response', jsonb_build_object('status', 'succeeded', 'error', NULL)),
    'ctx', jsonb_build_object('via', 'ui', 'client-ip', '10.0.0.' || (g %% 250))),
  ''
FROM generate_series(1, %s) AS g
"""


def bulk(n: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(BULK_INSERT, [n])


def peak_while_reading(chunks) -> tuple[int, int, int]:
    """(peak traced bytes, rows, bytes) while consuming ``chunks`` one at a time."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    rows = size = 0
    try:
        for chunk in chunks:
            rows += chunk.count(b"\n")
            size += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, rows, size


def test_an_export_of_100k_records_streams_with_flat_memory(personas):
    bulk(100_000)
    response = client_for(personas["carol"]).get(reverse("audit-log-export"))
    assert response.streaming and response["X-Row-Count"] == "100000"

    peak, rows, size = peak_while_reading(response.streaming_content)

    assert rows == 100_001
    assert size > 20_000_000  # the file is large …
    assert peak < 2_000_000  # … and the stream holds a few chunks of it at a time


def test_the_python_stream_keeps_memory_flat_too(personas):
    """The fallback reads 2,000 records at a time: four times the rows, not four times the
    memory. (Smaller than 100k: it is the SQLite path, and slow under tracemalloc.)"""
    qs = AuditRecord.objects.order_by("-ts", "-id")
    bulk(4_000)
    small, small_rows, _ = peak_while_reading(export._python_stream(qs))
    bulk_more = 12_000
    with connection.cursor() as cursor:  # 12,000 more, ids apart from the first 4,000
        cursor.execute(BULK_INSERT.replace("md5(g::text)", "md5('more' || g)"), [bulk_more])

    large, large_rows, _ = peak_while_reading(export._python_stream(qs))

    assert (small_rows, large_rows) == (4_001, 16_001)
    assert large < small * 1.5


def test_an_export_that_cannot_be_recorded_is_not_started(transactional_db, personas):
    """Fault injection at the database driver: the export's audit record fails to insert."""
    make_records(persona_actor(personas["bob"]), 3)

    def refuse_audit_inserts(execute, sql, params, many, context):
        if "INSERT INTO audit_auditrecord" in sql or 'INSERT INTO "audit_auditrecord"' in sql:
            raise DatabaseError("could not extend file: No space left on device")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_audit_inserts):
        response = client_for(personas["carol"]).get(reverse("audit-log-export"))

    assert response.status_code == 503
    assert not response.streaming
    assert "Nothing was exported" in response.content.decode()
    assert not AuditRecord.objects.filter(event="query/export-audit-log").exists()
