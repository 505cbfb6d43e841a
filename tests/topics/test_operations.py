"""Each topic operation through the real gate against Tansu: allowed, denied, failed, recorded."""

from __future__ import annotations

import hashlib

import pytest

from audit.gate import Ctx
from audit.models import AuditRecord
from topics import kafka as kafka_client
from topics import operations, validation
from topics.models import Cluster

from .conftest import last_record, topic_names

CTX = Ctx(client_ip="127.0.0.1", user_agent="pytest", via="ui", cluster_id="flex-test")


def _create(cluster_id: str, name: str, **fields):
    data = {"name": name, "partitions": 1, "replication_factor": 1, "configs": {}, **fields}
    return operations.topic_create(
        operations.target(cluster_id), validation.check_create(data), data
    )


def _produce(cluster_id: str, name: str, **fields):
    data = {"key": "k", "value": "v", **fields}
    checked = validation.check_message(data)
    return operations.message_produce(operations.target(cluster_id), name, checked, data)


def _edit(cluster_id: str, name: str, **fields):
    data = {"set": {"retention.ms": "60000"}, **fields}
    checked = validation.check_config_change(data)
    return operations.topic_configs_edit(operations.target(cluster_id), name, checked, data)


def _read(cluster_id: str, name: str, **fields):
    checked = validation.check_read(fields)
    return operations.messages_read(operations.target(cluster_id), name, checked, fields, roles=())


def _op(kind: str, name: str, cluster_id: str = "flex-test"):
    """A valid operation of each kind on topic ``name``."""
    confirmed = validation.Checked(True)
    builders = {
        "create": lambda: _create(cluster_id, name),
        "delete": lambda: operations.topic_delete(operations.target(cluster_id), name, confirmed),
        "edit": lambda: _edit(cluster_id, name),
        "produce": lambda: _produce(cluster_id, name),
        "truncate": lambda: operations.topic_truncate(
            operations.target(cluster_id), name, confirmed
        ),
        "inspect": lambda: _read(cluster_id, name),
    }
    return builders[kind]()


ACTIONS = {
    "create": "TOPIC_CREATE",
    "delete": "TOPIC_DELETE",
    "edit": "TOPIC_EDIT",
    "produce": "TOPIC_PRODUCE",
    "truncate": "TOPIC_TRUNCATE",
    "inspect": "TOPIC_INSPECT",
}


def test_every_operation_is_declared_once_with_its_action_and_type():
    assert operations.OPERATIONS == {
        "mutation/create-topic": ("TOPIC_CREATE", "mutation/request"),
        "mutation/delete-topic": ("TOPIC_DELETE", "mutation/request"),
        "mutation/edit-topic-config": ("TOPIC_EDIT", "mutation/request"),
        "mutation/produce": ("TOPIC_PRODUCE", "mutation/request"),
        "mutation/truncate-topic": ("TOPIC_TRUNCATE", "mutation/request"),
        "query/inspect-topic-data": ("TOPIC_INSPECT", "query/request"),
        "query/download-topic-data": ("TOPIC_DATA_DOWNLOAD", "query/request"),
        "mutation/reset-group-offsets": ("GROUP_EDIT", "mutation/request"),
        "query/preview-group-offsets": ("GROUP_EDIT", "query/request"),
        "mutation/delete-group": ("GROUP_DELETE", "mutation/request"),
    }


def test_create_topic_records_the_design_payload(cluster, personas, allow, new_name):
    allow(["TOPIC_CREATE"])
    name = new_name()
    op = _create(cluster.key, name, partitions=3, configs={"retention.ms": "1000"})
    outcome = operations.run(personas["bob"], op, CTX)
    assert outcome.ok, outcome.error
    assert name in topic_names(cluster)
    doc = last_record().document
    assert doc["type"] == "mutation/request"
    assert doc["data"]["event"] == [
        "mutation/create-topic",
        {
            "topic-name": name,
            "replication-factor": "1",
            "partitions": "3",
            "config-items": {"retention.ms": "1000"},
            "request/ctx": {"cluster-id": "flex-test"},
        },
    ]
    assert doc["data"]["rbac"]["success?"] is True
    assert doc["data"]["rbac"]["action"] == "TOPIC_CREATE"
    assert doc["data"]["rbac"]["policies"] == [
        {
            "resource": ["cluster", "*"],
            "role": "platform",
            "effect": "Allow",
            "actions": ["TOPIC_CREATE"],
        }
    ]
    assert doc["data"]["response"] == {"status": "succeeded", "error": None}
    assert doc["data"]["user"]["login"] == "bob"
    record = last_record()
    assert (record.action, record.resource_name, record.cluster_id) == (
        "TOPIC_CREATE",
        name,
        "flex-test",
    )


@pytest.mark.parametrize("kind", sorted(ACTIONS))
def test_it_allows_each_action_a_policy_grants(
    kind, cluster, personas, allow, make_topic, new_name
):
    allow([ACTIONS[kind]])
    name = new_name() if kind == "create" else make_topic()
    outcome = operations.run(personas["bob"], _op(kind, name), CTX)
    record = last_record()
    assert record.action == ACTIONS[kind]
    assert record.document["data"]["rbac"]["success?"] is True
    if kind == "truncate":  # allowed, but Tansu cannot delete records
        assert (outcome.status, outcome.code) == ("failed", "not_supported")
        assert record.outcome == AuditRecord.FAILED
    else:
        assert outcome.ok, outcome.error
        assert record.outcome == AuditRecord.SUCCEEDED


@pytest.mark.parametrize("kind", sorted(ACTIONS))
def test_it_denies_each_action_without_a_policy(
    kind, cluster, personas, allow, make_topic, new_name
):
    # Bob may do everything else; carol holds no policy at all.
    allow([a for a in ACTIONS.values() if a != ACTIONS[kind]])
    name = new_name() if kind == "create" else make_topic()
    for user in (personas["bob"], personas["carol"]):
        outcome = operations.run(user, _op(kind, name), CTX)
        assert (outcome.status, outcome.http_status) == ("denied", 403)
        record = last_record()
        assert record.outcome == AuditRecord.DENIED
        assert record.login == user.username
        assert record.document["data"]["rbac"]["success?"] is False
        assert record.document["data"]["response"]["status"] == "denied"
    names = topic_names(cluster)
    assert (name in names) is (kind != "create")  # nothing created, nothing deleted
    if kind == "produce":
        assert kafka_client.describe_topic(cluster, name).messages == 0
    if kind == "edit":
        assert "retention.ms" not in kafka_client.topic_configs(cluster, name)


def test_a_deny_beats_an_allow_for_the_topics_it_names(cluster, personas, allow, make_topic):
    allow(["TOPIC_DELETE"])
    allow(
        ["TOPIC_DELETE"],
        roles=["member"],
        resource=["cluster", "*", "topic", "keep-*"],
        effect="Deny",
    )
    kept = make_topic(name=f"keep-{make_topic()}")
    outcome = operations.run(personas["bob"], _op("delete", kept), CTX)
    assert outcome.status == "denied"
    assert kept in topic_names(cluster)
    assert [p["effect"] for p in last_record().document["data"]["rbac"]["policies"]] == [
        "Allow",
        "Deny",
    ]


def test_a_user_outside_authorized_roles_is_refused_and_recorded(
    cluster, personas, allow, new_name
):
    allow(["TOPIC_CREATE"], roles=["*"])
    name = new_name()
    outcome = operations.run(personas["mallory"], _op("create", name), CTX)
    assert (outcome.status, outcome.http_status) == ("denied", 403)
    assert name not in topic_names(cluster)
    record = last_record()
    assert (record.login, record.outcome, record.event) == (
        "mallory",
        "denied",
        "mutation/create-topic",
    )
    assert "not authorized" in record.document["data"]["response"]["error"]


def test_creating_an_existing_topic_fails_with_topic_exists(cluster, personas, allow, make_topic):
    allow(["TOPIC_CREATE"])
    name = make_topic()
    outcome = operations.run(personas["bob"], _op("create", name), CTX)
    assert (outcome.status, outcome.code, outcome.http_status) == ("failed", "topic_exists", 409)
    record = last_record()
    assert record.outcome == AuditRecord.FAILED
    assert record.document["data"]["response"]["error"] == f"topic {name!r} already exists"


def test_a_replication_factor_above_the_broker_count_is_refused(cluster, personas, allow, new_name):
    allow(["TOPIC_CREATE"])
    name = new_name()
    op = _create(cluster.key, name, replication_factor=3)
    outcome = operations.run(personas["bob"], op, CTX)
    assert (outcome.code, outcome.http_status) == ("invalid_request", 400)
    assert "more than the 1 broker" in outcome.error
    assert name not in topic_names(cluster)
    assert last_record().document["data"]["event"][1]["replication-factor"] == "3"


@pytest.mark.parametrize("kind", ["delete", "edit", "produce", "inspect", "truncate"])
def test_an_unknown_topic_is_an_answer_and_is_never_created(
    kind, cluster, personas, allow, new_name
):
    allow()
    name = new_name("missing")
    outcome = operations.run(personas["bob"], _op(kind, name), CTX)
    assert (outcome.status, outcome.code, outcome.http_status) == ("failed", "unknown_topic", 404)
    assert last_record().document["data"]["response"]["error"] == f"topic {name!r} does not exist"
    assert name not in topic_names(cluster)


def test_an_unreachable_cluster_fails_within_the_timeout(db, personas, allow, settings, new_name):
    settings.KAFKA_TIMEOUT_MS = 500
    Cluster.objects.create(name="nowhere", bootstrap_servers="127.0.0.1:1")
    allow()
    for kind in ("create", "produce", "inspect"):
        outcome = operations.run(personas["bob"], _op(kind, new_name(), cluster_id="nowhere"), CTX)
        assert (outcome.code, outcome.http_status) == ("cluster_unavailable", 503)
        assert "nowhere is unreachable" in outcome.error
        assert last_record().outcome == AuditRecord.FAILED


def test_an_unknown_cluster_is_recorded_as_failed(db, personas, allow, new_name):
    allow()
    ctx = Ctx(via="api", cluster_id="no-such")
    outcome = operations.run(personas["bob"], _op("delete", "x", cluster_id="no-such"), ctx)
    assert (outcome.code, outcome.http_status) == ("unknown_cluster", 404)
    record = last_record()
    assert (record.cluster_id, record.outcome) == ("no-such", AuditRecord.FAILED)
    assert record.document["data"]["rbac"]["success?"] is True


def test_truncate_answers_not_supported_on_tansu_and_the_broker_survives(
    cluster, personas, allow, make_topic
):
    allow(["TOPIC_TRUNCATE"])
    name = make_topic()
    for _ in range(2):  # the second answer comes from memory, without asking the broker again
        outcome = operations.run(personas["bob"], _op("truncate", name), CTX)
        assert (outcome.code, outcome.http_status) == ("not_supported", 400)
        assert "not supported by this cluster" in outcome.error
        assert last_record().outcome == AuditRecord.FAILED
    assert kafka_client.describe_cluster(cluster)["cluster_id"] == "flex-test"
    kafka_client.produce(cluster, name, key=None, value=b"still here", headers=[])
    read = kafka_client.read_messages(cluster, name, kafka_client.ReadQuery())
    assert [m.value for m in read.messages] == [b"still here"]


def test_a_produced_message_is_recorded_as_size_and_digest(cluster, personas, allow, make_topic):
    allow(["TOPIC_PRODUCE"])
    name = make_topic()
    op = _produce(
        cluster.key,
        name,
        key="order-1",
        value='{"secret": "card 4111"}',
        headers={"trace": "abc"},
        partition=0,
    )
    outcome = operations.run(personas["bob"], op, CTX)
    assert outcome.ok
    assert outcome.result["partition"] == 0
    request = last_record().document["data"]["event"][1]
    assert request["value"] == {
        "size": 23,
        "sha256": hashlib.sha256(b'{"secret": "card 4111"}').hexdigest(),
    }
    assert request["key"]["size"] == 7
    assert request["headers"] == {
        "trace": {"size": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}
    }
    assert "4111" not in str(last_record().document)


def test_a_message_over_the_limit_is_refused_before_kafka(
    cluster, personas, allow, make_topic, settings
):
    settings.FLEX_PRODUCE_MAX_BYTES = 10
    allow(["TOPIC_PRODUCE"])
    name = make_topic()
    op = _produce(cluster.key, name, key=None, value="x" * 11)
    outcome = operations.run(personas["bob"], op, CTX)
    assert (outcome.code, outcome.http_status) == ("too_large", 413)
    assert kafka_client.describe_topic(cluster, name).messages == 0
    assert last_record().document["data"]["response"]["error"].startswith("the message is 11 bytes")


def test_reading_is_a_query_record(cluster, personas, allow, make_topic):
    allow(["TOPIC_INSPECT", "TOPIC_PRODUCE"])
    name = make_topic()
    kafka_client.produce(cluster, name, key=None, value=b"hello", headers=[])
    op = _read(cluster.key, name, mode="latest", limit="5")
    outcome = operations.run(personas["bob"], op, CTX)
    assert [m.message.value for m in outcome.result.read.messages] == [b"hello"]
    record = last_record()
    assert (record.type, record.event, record.action) == (
        "query/request",
        "query/inspect-topic-data",
        "TOPIC_INSPECT",
    )
    assert record.document["data"]["event"][1]["limit"] == "5"


def test_a_topic_data_query_policy_decides_reading(cluster, personas, allow, make_topic):
    allow(["TOPIC_DATA_QUERY"])
    outcome = operations.run(personas["bob"], _op("inspect", make_topic()), CTX)
    assert outcome.ok


def test_editing_configs_records_the_values_before(cluster, personas, allow, make_topic):
    allow(["TOPIC_EDIT"])
    name = make_topic(configs={"retention.ms": "1000", "cleanup.policy": "delete"})
    op = _edit(cluster.key, name, set={"retention.ms": "2000"}, reset=["cleanup.policy"])
    assert operations.run(personas["bob"], op, CTX).ok
    configs = kafka_client.topic_configs(cluster, name)
    assert configs["retention.ms"].value == "2000"
    assert "cleanup.policy" not in configs
    request = last_record().document["data"]["event"][1]
    assert request["config-items"] == {"retention.ms": "2000"}
    assert request["reset-config-items"] == ["cleanup.policy"]
    assert request["previous-config-items"] == {"retention.ms": "1000", "cleanup.policy": "delete"}
