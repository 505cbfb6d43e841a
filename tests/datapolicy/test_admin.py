"""Data policies in Django admin: each change one ``mutation/edit-data-policies`` record."""

from __future__ import annotations

from django.urls import reverse

from audit.models import AuditRecord
from datapolicy.models import DataPolicy
from tests.topics.conftest import last_record


def _admin(client, personas):
    alice = personas["alice"]
    alice.is_staff = True
    alice.save()
    client.force_login(alice)


def test_adding_a_policy_records_before_and_after(client, personas):
    _admin(client, personas)
    before = AuditRecord.objects.count()
    response = client.post(
        reverse("admin:datapolicy_datapolicy_add"),
        {
            "name": "Card",
            "category": "PII",
            "resources": '[["cluster", "*", "topic", "*", "value"]]',
            "redaction": "ShowLast4",
            "policy_type": "non-scalar",
            "fields": "pan, credit_card",
            "unmask_roles": "fraud-team",
            "position": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert AuditRecord.objects.count() == before + 1
    request = last_record().document["data"]["event"][1]
    assert last_record().document["data"]["event"][0] == "mutation/edit-data-policies"
    assert request["change"] == "create" and request["before"] is None
    assert request["after"]["fields"] == ["pan", "credit_card"]


def test_an_invalid_policy_is_refused_naming_the_problem(client, personas):
    _admin(client, personas)
    response = client.post(
        reverse("admin:datapolicy_datapolicy_add"),
        {
            "name": "Card",
            "resources": '[["cluster", "*", "topic", "*", "body"]]',
            "redaction": "Full",
            "policy_type": "non-scalar",
            "position": "0",
        },
    )
    assert response.status_code == 200
    assert b"body" in response.content and b"must name the fields" in response.content
    assert not DataPolicy.objects.exists()


def test_deleting_a_policy_records_it(client, personas, data_policy):
    _admin(client, personas)
    policy = data_policy("Card", fields=["pan"])
    response = client.post(
        reverse("admin:datapolicy_datapolicy_delete", args=[policy.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    request = last_record().document["data"]["event"][1]
    assert request["change"] == "delete" and request["before"]["name"] == "Card"
