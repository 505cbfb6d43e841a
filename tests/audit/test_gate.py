"""The gate: one record per action, whatever happened, in DESIGN.md's shape."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection

from audit import gate
from audit.gate import AuditUnavailable, OperationError
from audit.models import AuditRecord, Delivery, PendingSeal
from rbac.models import Policy
from tests.audit.conftest import CLUSTER_ID, JOHN, create_topic_op, ctx, sql
from topics import kafka as kafka_client
from topics.models import Cluster


def test_a_create_topic_record_matches_the_documented_shape_key_for_key(policies):
    outcome = gate.perform(JOHN, create_topic_op("tx-events"), ctx())

    record = AuditRecord.objects.get()
    assert outcome.ok and outcome.record.pk == record.pk
    assert record.document == {
        "id": str(record.pk),
        "ts": record.document["ts"],
        "type": "mutation/request",
        "data": {
            "user": {
                "provider": "github",
                "email": "john@example.com",
                "name": "John Smith",
                "login": "JohnSmithGithub",
                "id": "e69002ee-467d-4d6f-8236-054c58b2a00c",
            },
            "event": [
                "mutation/create-topic",
                {
                    "topic-name": "tx-events",
                    "replication-factor": "1",
                    "partitions": "1",
                    "config-items": {},
                    "request/ctx": {"cluster-id": CLUSTER_ID},
                },
            ],
            "rbac": {
                "success?": True,
                "action": "TOPIC_CREATE",
                "policies": [
                    {
                        "resource": ["cluster", "*"],
                        "role": "*",
                        "effect": "Allow",
                        "actions": ["TOPIC_CREATE", "TOPIC_EDIT"],
                    }
                ],
            },
            "response": {"status": "succeeded", "error": None},
        },
        "ctx": {
            "cluster-id": CLUSTER_ID,
            "via": "ui",
            "client-ip": "127.0.0.1",
            "user-agent": "pytest",
        },
    }
    assert abs(record.document["ts"] - record.ts.timestamp() * 1000) < 1


def test_it_fills_the_indexed_columns_from_the_action(policies):
    record = gate.perform(JOHN, create_topic_op("tx-events"), ctx()).record
    record.refresh_from_db()
    assert (record.login, record.flex_user_id, record.event, record.action) == (
        "JohnSmithGithub",
        JOHN.flex_id,
        "mutation/create-topic",
        "TOPIC_CREATE",
    )
    assert (record.outcome, record.cluster_id, record.resource_name, record.type) == (
        "succeeded",
        CLUSTER_ID,
        "tx-events",
        "mutation/request",
    )


def test_it_records_a_denied_action_without_executing_it(db):
    ran = []
    outcome = gate.perform(JOHN, create_topic_op(execute=lambda: ran.append(1)), ctx())

    assert outcome.status == "denied" and outcome.http_status == 403
    assert ran == []
    record = AuditRecord.objects.get()
    assert record.outcome == "denied"
    assert record.document["data"]["rbac"] == {
        "success?": False,
        "action": "TOPIC_CREATE",
        "policies": [],
    }
    assert record.document["data"]["response"]["status"] == "denied"


def test_a_deny_policy_is_named_in_the_denied_record(policies):
    Policy.objects.create(
        resource=["cluster", "*", "topic", "tx-*"],
        effect="Deny",
        actions=["TOPIC_CREATE"],
        roles=["platform"],
    )
    from rbac import engine

    engine.invalidate()
    record = gate.perform(JOHN, create_topic_op("tx-events"), ctx()).record
    effects = [p["effect"] for p in record.document["data"]["rbac"]["policies"]]
    assert record.outcome == "denied" and sorted(effects) == ["Allow", "Deny"]


def test_a_kafka_error_is_a_failed_record_not_a_500(policies, settings):
    settings.KAFKA_TIMEOUT_MS = 500
    dead = Cluster.objects.create(name="nowhere", bootstrap_servers="127.0.0.1:1")

    def execute():
        return kafka_client.describe_cluster(dead)

    outcome = gate.perform(JOHN, create_topic_op(execute=execute), ctx())

    assert outcome.status == "failed" and outcome.code == "cluster_unavailable"
    assert outcome.http_status == 503
    record = AuditRecord.objects.get()
    assert record.outcome == "failed"
    assert "nowhere is unreachable" in record.document["data"]["response"]["error"]


def test_an_unexpected_exception_is_a_failed_record(policies):
    def execute():
        raise ZeroDivisionError("boom")

    outcome = gate.perform(JOHN, create_topic_op(execute=execute), ctx())

    assert outcome.status == "failed" and outcome.code == "internal_error"
    record = AuditRecord.objects.get()
    assert record.document["data"]["response"]["error"] == "unexpected error: ZeroDivisionError"


def test_each_outcome_writes_exactly_one_record(policies):
    def fail():
        raise OperationError("topic exists", code="topic_exists")

    gate.perform(JOHN, create_topic_op("a"), ctx())
    gate.perform(JOHN, create_topic_op("b", execute=fail), ctx())
    gate.perform(JOHN, create_topic_op("c", action="TOPIC_DELETE"), ctx())
    outcomes = sorted(AuditRecord.objects.values_list("resource_name", "outcome"))
    assert outcomes == [("a", "succeeded"), ("b", "failed"), ("c", "denied")]


def test_database_changes_of_a_failed_operation_roll_back(policies):
    def execute():
        Policy.objects.create(resource=["cluster", "*"], effect="Allow", actions=[], roles=["x"])
        raise OperationError("half-way")

    gate.perform(JOHN, create_topic_op(execute=execute), ctx())

    assert not Policy.objects.filter(roles=["x"]).exists()
    assert AuditRecord.objects.get().outcome == "failed"


def test_the_outbox_rows_are_written_with_the_record(policies, settings):
    settings.SLACK_WEBHOOK_URL = "http://127.0.0.1:9/slack"
    settings.WEBHOOK_URL = None
    record = gate.perform(JOHN, create_topic_op(), ctx()).record
    sinks = sorted(Delivery.objects.filter(record=record).values_list("sink", flat=True))
    assert sinks == ["kafka", "slack"]
    assert PendingSeal.objects.filter(record=record, refused_at=None).exists()  # queued to seal


@pytest.mark.django_db(transaction=True)
def test_a_record_and_its_outbox_rows_are_written_together_or_not_at_all():
    from audit.documents import Event, draft
    from audit.store import _insert_one_statement

    drafted = draft(
        Event(
            actor=JOHN,
            type="mutation/request",
            event="mutation/create-topic",
            request={},
            ctx=ctx().as_record(),
            cluster_id=ctx().cluster_id,
            status="succeeded",
            action="TOPIC_CREATE",
        )
    )
    drafted.outbox = ["kafka", "kafka"]  # the second outbox row breaks the primary key
    assert connection.get_autocommit()  # as in a request: one statement, its own transaction
    with pytest.raises(DatabaseError):
        _insert_one_statement(drafted)
    assert not AuditRecord.objects.exists() and not Delivery.objects.exists()
    assert not PendingSeal.objects.exists()
    drafted.outbox = ["kafka", "slack"]
    _insert_one_statement(drafted)
    assert AuditRecord.objects.count() == 1 and Delivery.objects.count() == 2
    assert PendingSeal.objects.get().record_id == drafted.record.pk


def test_record_event_records_a_sign_in_without_rbac(db):
    record = gate.record_event(
        actor=JOHN, type="auth/login", event="auth/login", request={"provider": "github"}, ctx=ctx()
    )
    record.refresh_from_db()
    assert "rbac" not in record.document["data"]
    assert record.document["data"]["event"] == ["auth/login", {"provider": "github"}]
    assert record.type == "auth/login" and record.outcome == "succeeded"


# When the record cannot be written ------------------------------------------------------


@pytest.fixture
def failing_inserts(db):
    """Make the next ``n`` INSERTs into the audit table fail, as a failing database would.

    A sequence counts them: nextval() is not rolled back with the failed transaction.
    """

    def arm(n: int) -> None:
        sql(f"CREATE SEQUENCE audit_test_failures START 1 MAXVALUE {n + 1000}")
        sql(
            f"""
            CREATE FUNCTION audit_test_fail() RETURNS trigger AS $$
            BEGIN
                IF nextval('audit_test_failures') <= {n} THEN
                    RAISE EXCEPTION 'simulated database failure';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """
        )
        sql(
            "CREATE TRIGGER audit_test_fail BEFORE INSERT ON audit_auditrecord "
            "FOR EACH ROW EXECUTE FUNCTION audit_test_fail()"
        )

    yield arm
    sql("DROP TRIGGER IF EXISTS audit_test_fail ON audit_auditrecord")
    sql("DROP FUNCTION IF EXISTS audit_test_fail()")
    sql("DROP SEQUENCE IF EXISTS audit_test_failures")


def test_a_database_change_is_rolled_back_when_its_record_cannot_be_written(
    policies, failing_inserts
):
    failing_inserts(100)

    def execute():
        Policy.objects.create(resource=["cluster", "*"], effect="Allow", actions=[], roles=["x"])

    with pytest.raises(AuditUnavailable) as info:
        gate.perform(JOHN, create_topic_op(execute=execute), ctx())

    assert "rolled back" in info.value.message and info.value.status == 503
    assert not Policy.objects.filter(roles=["x"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_kafka_action_that_happened_gets_its_record_on_a_retry(failing_inserts):
    from tests.audit.conftest import allow

    allow(["TOPIC_CREATE"])
    failing_inserts(1)
    happened = []

    outcome = gate.perform(JOHN, create_topic_op(execute=lambda: happened.append(1)), ctx())

    assert happened == [1] and outcome.ok
    assert list(AuditRecord.objects.values_list("id", flat=True)) == [outcome.record.pk]


@pytest.mark.django_db(transaction=True)
def test_a_kafka_action_that_cannot_be_recorded_is_a_clear_error(failing_inserts, caplog):
    from tests.audit.conftest import allow

    allow(["TOPIC_CREATE"])
    failing_inserts(100)

    with pytest.raises(AuditUnavailable) as info:
        gate.perform(JOHN, create_topic_op(execute=lambda: None), ctx())

    assert "create-topic succeeded, but its audit record could not be written" in str(info.value)
    assert "JohnSmithGithub" in caplog.text  # the whole record is in the log, at CRITICAL
    assert not AuditRecord.objects.exists()
    assert connection.is_usable()
