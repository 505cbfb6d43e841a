"""Reading real messages from Tansu through the page and the API: masked by role, before any
byte leaves the server; the read's audit record names the data policies applied."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from tests.topics.conftest import last_record

PAN = "4111111111111111"
PAN_HIDDEN = "411111111111"  # what ShowLast4 hides of it
EMAIL_LOCAL = "johnsmith"
SECRET_KEY = "customer-8f3a9c"


def _value() -> bytes:
    return json.dumps(
        {
            "order": 7,
            "payment": {"pan": PAN, "cards": [{"pan": PAN}]},
            "email": "johnsmith@corp.org",
        }
    ).encode()


@pytest.fixture
def masked_topic(cluster, make_topic, produce, data_policy, allow, bob):
    allow(actions=["TOPIC_INSPECT"], roles=["platform"])
    data_policy("Credit Card", category="PII", fields=["pan"], unmask_roles=["fraud-team"])
    data_policy("Email", redaction="ShowEmailHost", fields=["email"])
    data_policy(
        "Keys",
        resources=[["cluster", "*", "topic", "*", "key"]],
        redaction="Full",
        policy_type="scalar",
    )
    data_policy(
        "Auth header",
        resources=[["cluster", "*", "topic", "*", "headers"]],
        redaction="SHAHash",
        fields=["authorization"],
    )
    name = make_topic()
    produce(
        name,
        key=SECRET_KEY.encode(),
        value=_value(),
        headers=[("authorization", b"Bearer tok-ABCDEF"), ("trace", b"t-1")],
    )
    return name


def _page(client, name):
    url = reverse("topic-messages", kwargs={"cluster": "flex-test", "topic": name})
    return client.get(url, {"mode": "latest", "limit": "10"})


def _api(client, name):
    url = reverse("api-topic-messages", kwargs={"cluster": "flex-test", "topic": name})
    return client.get(url, {"mode": "latest", "limit": "10"})


def _absent(body: bytes) -> None:
    """No masked value, in any encoding a face could use (text, JSON escapes, hex)."""
    for secret in (PAN_HIDDEN, EMAIL_LOCAL, SECRET_KEY, "tok-ABCDEF"):
        assert secret.encode() not in body, secret
        assert secret.encode().hex().encode() not in body, secret
        assert secret.encode().hex(" ").encode() not in body, secret


def test_the_page_shows_masked_fields_and_which_policy_masked_them(client, masked_topic):
    response = _page(client, masked_topic)
    assert response.status_code == 200
    _absent(response.content)
    html = response.content.decode()
    assert "************1111" in html
    assert "*********@corp.org" in html
    assert "payment.cards[*].pan" in html
    assert "Credit Card" in html and "Email" in html and "Auth header" in html


def test_the_api_answers_masked_json_and_the_marks(client, masked_topic):
    response = _api(client, masked_topic)
    assert response.status_code == 200
    _absent(response.content)
    message = response.json()["messages"][0]
    value = json.loads(message["value"]["text"])
    assert value["payment"] == {"pan": "************1111", "cards": [{"pan": "************1111"}]}
    assert message["key"] == {"format": "text", "text": "********", "size": 8, "truncated": False}
    headers = {h["name"]: h["value"]["text"] for h in message["headers"]}
    assert headers["trace"] == "t-1"
    assert len(headers["authorization"]) == 128  # the SHA-512 of the header, in hex
    assert {"part": "key", "path": "", "policy": "Keys", "count": 1} in message["masked"]
    names = {p["name"] for p in response.json()["data_policies"]}
    assert names == {"Credit Card", "Email", "Keys", "Auth header"}


def test_the_read_record_lists_the_policies_applied(client, masked_topic):
    before = AuditRecord.objects.count()
    _api(client, masked_topic)
    assert AuditRecord.objects.count() == before + 1
    request = last_record().document["data"]["event"][1]
    applied = {p["name"]: p for p in request["data-policies"]}
    assert applied["Credit Card"]["masked"] == 2 and applied["Credit Card"]["clear"] == 0
    assert request["data-policies/unmasked?"] is False


def test_a_reader_holding_an_unmask_role_sees_the_clear_value_and_it_is_recorded(
    client, masked_topic, personas
):
    profile = personas["bob"].flex_profile
    profile.provider_roles = [*profile.provider_roles, "fraud-team"]
    profile.save()
    response = _api(client, masked_topic)
    assert PAN.encode() in response.content  # Credit Card: clear for fraud-team
    assert EMAIL_LOCAL.encode() + b"@" not in response.content  # Email: still masked
    request = last_record().document["data"]["event"][1]
    applied = {p["name"]: p for p in request["data-policies"]}
    assert applied["Credit Card"] == {
        "name": "Credit Card",
        "category": "PII",
        "masked": 0,
        "clear": 2,
    }
    assert request["data-policies/unmasked?"] is True


def test_an_excluded_topic_reads_in_the_clear(client, masked_topic, exclude):
    exclude([masked_topic])
    response = _api(client, masked_topic)
    assert PAN.encode() in response.content and SECRET_KEY.encode() in response.content
    assert last_record().document["data"]["event"][1]["data-policies"] == []


def test_a_covered_binary_value_is_never_shown_as_hex(
    client, cluster, make_topic, produce, data_policy, allow, bob
):
    allow(actions=["TOPIC_INSPECT"], roles=["platform"])
    data_policy("Card", fields=["pan"])
    name = make_topic()
    secret = b"\x00\x01" + PAN.encode()
    produce(name, value=secret)
    for response in (_page(client, name), _api(client, name)):
        assert response.status_code == 200
        assert secret.hex(" ").encode() not in response.content
        assert PAN.encode() not in response.content
    value = _api(client, name).json()["messages"][0]["value"]
    assert value["format"] == "text" and value["text"] == "********"


def test_without_policies_a_read_is_unchanged(client, cluster, make_topic, produce, allow, bob):
    allow(actions=["TOPIC_INSPECT"], roles=["platform"])
    name = make_topic()
    produce(name, value=b"\x00\x01raw")
    value = _api(client, name).json()["messages"][0]["value"]
    assert value["format"] == "hex"
