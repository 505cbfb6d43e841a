from __future__ import annotations

from django.contrib.auth.models import Group, User

from audit.models import AuditRecord


def _admin_client(client, personas):
    alice = personas["alice"]
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


def test_it_records_a_users_groups_before_and_after(client, personas):
    client = _admin_client(client, personas)
    bob = personas["bob"]
    oncall = Group.objects.create(name="on-call")
    response = client.post(
        f"/admin/auth/user/{bob.pk}/change/",
        {
            "username": "bob",
            "email": "bob@example.com",
            "is_active": "on",
            "groups": [oncall.pk],
            "date_joined_0": "2026-11-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302
    record = AuditRecord.objects.get(event="mutation/edit-user")
    request = record.document["data"]["event"][1]
    assert request["before"]["groups"] == []
    assert request["after"]["groups"] == ["on-call"]
    assert request["after"]["password"] == "[redacted]"
    assert record.document["ctx"]["via"] == "admin"
    assert record.login == "alice"


def test_it_records_a_refused_form_as_failed(client, personas):
    client = _admin_client(client, personas)
    response = client.post("/admin/auth/group/add/", {"name": ""})
    assert response.status_code == 200
    record = AuditRecord.objects.get(event="mutation/create-group")
    assert record.outcome == "failed"
    assert not Group.objects.exists()


def test_social_auth_internals_are_read_only(client, personas):
    client = _admin_client(client, personas)
    assert client.get("/admin/social_django/nonce/add/").status_code == 403
    assert not User.objects.filter(username="nobody").exists()
