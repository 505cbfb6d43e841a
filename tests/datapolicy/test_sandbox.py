"""The sandbox: admins paste a message and see it masked; each POST is one audit record."""

from __future__ import annotations

import json

from django.urls import reverse

from audit.models import AuditRecord
from tests.topics.conftest import last_record


def _card(data_policy):
    data_policy("Credit Card", fields=["pan"], unmask_roles=["fraud-team"])


def _post(client, body) -> object:
    return client.post(
        reverse("data-policy-preview"), json.dumps(body), content_type="application/json"
    )


def test_the_api_masks_and_names_the_policies(client, personas, data_policy):
    _card(data_policy)
    client.force_login(personas["alice"])
    before = AuditRecord.objects.count()
    response = _post(
        client, {"topic": "orders", "roles": ["member"], "value": '{"pan": "4111111111111111"}'}
    )
    assert response.status_code == 200
    assert b"41111111" not in response.content
    body = response.json()
    assert json.loads(body["value"]) == {"pan": "************1111"}
    assert body["masked"] == [{"part": "value", "path": "pan", "policy": "Credit Card", "count": 1}]
    assert body["policies"][0]["name"] == "Credit Card"
    assert AuditRecord.objects.count() == before + 1
    record = last_record()
    assert record.document["data"]["event"][0] == "query/preview-data-policy"
    assert b"4111111111111111" not in json.dumps(record.document).encode()  # size + hash only


def test_an_unmask_role_sees_the_clear_value(client, personas, data_policy):
    _card(data_policy)
    client.force_login(personas["alice"])
    body = _post(client, {"topic": "t", "roles": ["fraud-team"], "value": '{"pan": "4111"}'})
    assert body.json()["value"] == '{"pan": "4111"}'
    assert body.json()["unmasked"] is True


def test_bad_input_is_a_clear_400_and_recorded(client, personas):
    client.force_login(personas["alice"])
    for body in ({"roles": ["x"]}, {"topic": "t", "headers": {"a": 1, "b": []}}, ["list"]):
        before = AuditRecord.objects.count()
        response = _post(client, body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "invalid_body"
        assert AuditRecord.objects.count() == before + 1
        assert last_record().outcome == AuditRecord.FAILED


def test_only_admins_preview(client, personas, data_policy):
    client.force_login(personas["bob"])
    before = AuditRecord.objects.count()
    assert _post(client, {"topic": "t"}).status_code == 403
    assert client.post(reverse("data-policy-sandbox"), {"topic": "t"}).status_code == 403
    assert AuditRecord.objects.count() == before + 2
    assert last_record().outcome == AuditRecord.DENIED


def test_the_page_shows_the_masked_message_and_is_in_settings(client, personas, data_policy):
    _card(data_policy)
    client.force_login(personas["alice"])
    page = client.get(reverse("data-policy-sandbox"))
    assert page.status_code == 200
    assert reverse("data-policy-sandbox").encode() in page.content  # the Settings menu
    response = client.post(
        reverse("data-policy-sandbox"),
        {
            "topic": "orders",
            "roles": "member",
            "value": '{"pan": "4111111111111111"}',
            "headers": '{"trace": "t-1"}',
        },
    )
    assert response.status_code == 200
    shown = response.content.split(b'id="masked"')[1]  # the form above echoes the paste
    assert b"************1111" in shown
    assert b"41111111" not in shown
    assert b"Credit Card" in shown


def test_bob_has_no_sandbox_in_his_menu(client, personas):
    client.force_login(personas["bob"])
    assert reverse("data-policy-sandbox").encode() not in client.get(reverse("user-log")).content
