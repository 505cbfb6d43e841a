"""The topics REST API: same operations, same gate, JSON errors, session and token auth."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from audit.models import AuditRecord
from lib import api as lib_api
from topics import kafka as kafka_client
from topics.models import Cluster

from .conftest import last_record, topic_names

BASE = "/api/clusters/flex-test/topics/"


def test_it_lists_topics_with_estimates(api, cluster, make_topic):
    name = make_topic(partitions=3)
    kafka_client.produce(cluster, name, key=None, value=b"x", headers=[])
    response = api.get(BASE, {"q": name})
    assert response.status_code == 200
    assert response.json() == [
        {
            "name": name,
            "partitions": 3,
            "replication_factor": 1,
            "messages": 1,
            "size": None,  # Tansu has no DescribeLogDirs
            "internal": False,
            "under_replicated": False,
            "offline": False,
        }
    ]


def test_it_lists_clusters(api, cluster):
    [row] = api.get("/api/clusters/").json()
    assert (row["id"], row["reachable"], row["error"]) == ("flex-test", True, None)


def test_it_creates_a_topic_and_answers_201_with_the_record(api, cluster, allow, new_name):
    allow(["TOPIC_CREATE"])
    name = new_name()
    response = api.post(
        BASE,
        {"name": name, "partitions": 2, "replication_factor": 1, "configs": {"retention.ms": "9"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["result"]["topic-name"] == name
    record = AuditRecord.objects.get(id=body["audit_record"])
    assert record.document["ctx"]["via"] == "api"
    assert record.document["data"]["event"][1] == {
        "topic-name": name,
        "replication-factor": "1",
        "partitions": "2",
        "config-items": {"retention.ms": "9"},
        "request/ctx": {"cluster-id": "flex-test"},
    }
    assert len(kafka_client.describe_topic(cluster, name).partitions) == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "no spaces"}, 400, "invalid_request"),
        ({"name": "ok", "partitions": 0}, 400, "invalid_request"),
        ({"name": "ok", "configs": {"retention.msx": "1"}}, 400, "invalid_config"),
        ({"name": "ok", "configs": {"preallocate": "maybe"}}, 400, "invalid_config"),
        ({"name": "ok", "configs": ["not", "a", "dict"]}, 400, "invalid_request"),
        ({"name": "ok", "replication_factor": 5}, 400, "invalid_request"),
        (["not an object"], 400, "invalid_request"),
    ],
)
def test_bad_create_requests_answer_json_errors_and_are_recorded(
    api, cluster, allow, new_name, body, status, code
):
    allow(["TOPIC_CREATE"])
    if isinstance(body, dict) and body.get("name") == "ok":
        body = {**body, "name": new_name()}
    before = AuditRecord.objects.count()
    response = api.post(BASE, body, format="json")
    assert response.status_code == status
    data = response.json()
    assert data["error"] == code
    assert data["detail"]
    assert AuditRecord.objects.count() == before + 1
    assert str(last_record().id) == data["audit_record"]
    assert last_record().outcome == "failed"


def test_malformed_json_is_an_answer_and_a_record(api, cluster, allow):
    allow(["TOPIC_CREATE"])
    response = api.post(BASE, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert last_record().outcome == "failed"


def test_existing_topic_is_409(api, cluster, allow, make_topic):
    allow(["TOPIC_CREATE"])
    response = api.post(BASE, {"name": make_topic()}, format="json")
    assert (response.status_code, response.json()["error"]) == (409, "topic_exists")


def test_denied_is_403_and_recorded(api, cluster, new_name):
    name = new_name()
    response = api.post(BASE, {"name": name}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "denied"
    assert last_record().outcome == "denied"
    assert name not in topic_names(cluster)


def test_the_detail_and_configs_mask_secrets(api, cluster, make_topic):
    name = make_topic(configs={"sasl.jaas.config": "user=x password=y", "retention.ms": "5"})
    detail = api.get(f"{BASE}{name}/").json()
    assert detail["name"] == name
    assert [(p["partition"], p["earliest"], p["latest"]) for p in detail["partitions"]] == [
        (0, 0, 0)
    ]
    listed = api.get(f"{BASE}{name}/configs/").json()
    configs = {c["name"]: c["value"] for c in listed if c["reported"]}
    assert configs == {"sasl.jaas.config": "[hidden]", "retention.ms": "5"}


def test_an_unknown_topic_is_404_json_and_is_not_created(api, cluster, new_name):
    name = new_name("missing")
    response = api.get(f"{BASE}{name}/")
    assert response.status_code == 404
    assert response.json() == {"error": "unknown_topic", "detail": f"topic {name!r} does not exist"}
    assert name not in topic_names(cluster)


def test_an_unknown_cluster_is_404_json(api, db):
    response = api.get("/api/clusters/no-such/topics/")
    assert response.json()["error"] == "unknown_cluster"
    assert response.status_code == 404


def test_an_unreachable_cluster_is_503_json(api, db, settings, allow):
    settings.KAFKA_TIMEOUT_MS = 300
    allow(["TOPIC_CREATE"])
    Cluster.objects.create(name="nowhere", bootstrap_servers="127.0.0.1:1")
    listing = api.get("/api/clusters/nowhere/topics/")
    assert (listing.status_code, listing.json()["error"]) == (503, "cluster_unavailable")
    create = api.post("/api/clusters/nowhere/topics/", {"name": "t"}, format="json")
    assert (create.status_code, create.json()["error"]) == (503, "cluster_unavailable")
    assert last_record().outcome == "failed"


def test_configs_are_patched_incrementally(api, cluster, allow, make_topic):
    allow(["TOPIC_EDIT"])
    name = make_topic(configs={"retention.ms": "1", "cleanup.policy": "compact"})
    response = api.patch(
        f"{BASE}{name}/configs/",
        {"set": {"segment.ms": "700000"}, "reset": ["cleanup.policy"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    configs = {k: e.value for k, e in kafka_client.topic_configs(cluster, name).items()}
    assert configs == {"retention.ms": "1", "segment.ms": "700000"}
    bad = api.patch(f"{BASE}{name}/configs/", {"set": {"nope": "1"}}, format="json")
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_config")


def test_it_produces_text_and_base64_and_reads_them_back(api, cluster, allow, make_topic):
    allow(["TOPIC_PRODUCE", "TOPIC_INSPECT"])
    name = make_topic()
    first = api.post(
        f"{BASE}{name}/messages/",
        {"key": "k", "value": '{"n": 1}', "headers": {"h": "v"}, "partition": 0},
        format="json",
    )
    assert first.status_code == 201, first.json()
    assert first.json()["result"]["offset"] == 0
    raw = base64.b64encode(b"\x01\x02").decode()
    second = api.post(
        f"{BASE}{name}/messages/", {"value": raw, "encoding": "base64"}, format="json"
    )
    assert second.status_code == 201
    read = api.get(f"{BASE}{name}/messages/", {"mode": "offset", "partition": 0, "offset": 0})
    assert read.status_code == 200
    body = read.json()
    assert [m["value"]["format"] for m in body["messages"]] == ["json", "hex"]
    assert body["messages"][1]["value"]["text"] == "01 02"
    assert body["messages"][0]["headers"][0]["name"] == "h"
    assert body["partial"] is False
    assert AuditRecord.objects.get(id=body["audit_record"]).type == "query/request"


def test_producing_too_much_is_413(api, cluster, allow, make_topic, settings):
    settings.FLEX_PRODUCE_MAX_BYTES = 8
    allow(["TOPIC_PRODUCE"])
    name = make_topic()
    response = api.post(f"{BASE}{name}/messages/", {"value": "123456789"}, format="json")
    assert (response.status_code, response.json()["error"]) == (413, "too_large")
    assert last_record().document["data"]["event"][1]["value"]["size"] == 9


def test_producing_to_an_unknown_topic_is_404_and_creates_nothing(api, cluster, allow, new_name):
    allow(["TOPIC_PRODUCE"])
    name = new_name("missing")
    response = api.post(f"{BASE}{name}/messages/", {"value": "x"}, format="json")
    assert (response.status_code, response.json()["error"]) == (404, "unknown_topic")
    assert name not in topic_names(cluster)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "501"},
        {"mode": "offset"},
        {"mode": "timestamp", "timestamp": "yesterday"},
        {"mode": "sideways"},
        {"partition": "-1"},
    ],
)
def test_bad_read_queries_are_400_and_recorded(api, cluster, allow, make_topic, params):
    allow(["TOPIC_INSPECT"])
    response = api.get(f"{BASE}{make_topic()}/messages/", params)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert (last_record().event, last_record().outcome) == ("query/inspect-topic-data", "failed")


def test_delete_and_truncate(api, cluster, allow, make_topic):
    allow(["TOPIC_DELETE", "TOPIC_TRUNCATE"])
    name = make_topic()
    truncate = api.post(f"{BASE}{name}/truncate/")
    assert (truncate.status_code, truncate.json()["error"]) == (400, "not_supported")
    assert "not supported by this cluster" in truncate.json()["detail"]
    delete = api.delete(f"{BASE}{name}")  # the trailing slash is optional
    assert delete.status_code == 200
    assert name not in topic_names(cluster)
    again = api.delete(f"{BASE}{name}/")
    assert (again.status_code, again.json()["error"]) == (404, "unknown_topic")


def test_session_authentication_works_and_anonymous_is_refused_as_json(client, bob, cluster):
    assert client.get(BASE).status_code == 200
    anonymous = APIClient().get(BASE)
    assert anonymous.status_code in (401, 403)
    assert anonymous.json()["error"] == "not_authenticated"


def test_a_bad_token_is_refused_as_json(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token nope")
    response = client.get(BASE)
    assert (response.status_code, response.json()["error"]) == (401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == 'Token realm="flex"'
    assert AuditRecord.objects.get(event="auth/api-refused").outcome == "denied"


def test_a_user_outside_authorized_roles_cannot_list(personas, cluster):
    client = APIClient()
    client.force_authenticate(personas["mallory"])
    response = client.get(BASE)
    assert (response.status_code, response.json()["error"]) == (403, "denied")


def test_an_unexpected_error_becomes_a_json_503_not_a_500():
    response = lib_api.exception_handler(RuntimeError("boom"), {})
    assert response.status_code == 503
    assert response.data == {
        "error": "internal_error",
        "detail": "unexpected error; it has been logged",
    }


def test_a_wrong_method_is_a_json_405(api, cluster, make_topic):
    response = api.put(f"{BASE}{make_topic()}/")
    assert (response.status_code, response.json()["error"]) == (405, "method_not_allowed")


def test_the_openapi_schema_describes_the_topic_endpoints(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/clusters/{cluster}/topics/": {"get", "post"},
        "/api/clusters/{cluster}/topics/{topic}/": {"get", "delete"},
        "/api/clusters/{cluster}/topics/{topic}/configs/": {"get", "patch"},
        "/api/clusters/{cluster}/topics/{topic}/messages/": {"get", "post"},
        "/api/clusters/{cluster}/topics/{topic}/truncate/": {"post"},
    }.items() <= {path: set(ops) - {"parameters"} for path, ops in paths.items()}.items()


def test_the_topic_endpoints_generate_no_schema_warnings(db):
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    # Each message names the source file and view (or the operationId, "clusters_…").
    messages = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    assert [m for m in messages if "topics" in m or "clusters" in m] == []
