"""Append-only for real: the database refuses UPDATE and DELETE; the admin is read-only."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from audit import chain
from audit.models import AuditRecord, AuditSeal
from tests.audit.conftest import act, sql


def refused(statement: str, params: list | None = None) -> str:
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        sql(statement, params)
    return str(info.value)


def test_the_database_rejects_update_of_a_record(policies):
    (record,) = act()
    message = refused("UPDATE audit_auditrecord SET outcome = 'denied' WHERE id = %s", [record.pk])
    assert "append-only" in message
    assert AuditRecord.objects.get().outcome == "succeeded"


def test_the_database_rejects_delete_of_a_record(policies):
    (record,) = act()
    assert "append-only" in refused("DELETE FROM audit_auditrecord WHERE id = %s", [record.pk])
    assert AuditRecord.objects.filter(pk=record.pk).exists()


def test_the_orm_cannot_change_or_delete_a_record_either(policies):
    (record,) = act()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(login="mallory")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).delete()
    assert AuditRecord.objects.get().login == "JohnSmithGithub"


def test_seals_are_append_only_too(policies):
    act()
    chain.seal_batch()
    assert "append-only" in refused("UPDATE audit_auditseal SET hash = 'x'")
    assert "append-only" in refused("DELETE FROM audit_auditseal")
    assert AuditSeal.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_purge_switch_lets_delete_through_but_never_update(policies):
    (record,) = act()
    with transaction.atomic():
        sql("SET LOCAL flex.audit_purge = 'on'")
        with pytest.raises(DatabaseError), transaction.atomic():
            sql("UPDATE audit_auditrecord SET login = 'x'")
        sql("DELETE FROM audit_delivery WHERE record_id = %s", [record.pk])
        sql("DELETE FROM audit_auditrecord WHERE id = %s", [record.pk])
    assert not AuditRecord.objects.exists()
    # SET LOCAL ends with the transaction: the next DELETE is refused again.
    (other,) = act()
    assert "append-only" in refused("DELETE FROM audit_auditrecord WHERE id = %s", [other.pk])


@pytest.mark.parametrize("view", ["add", "change", "delete"])
def test_the_admin_refuses_to_add_change_or_delete_even_for_superusers(
    policies, admin_client, view
):
    (record,) = act()
    url = f"/admin/audit/auditrecord/{'add' if view == 'add' else f'{record.pk}/{view}'}/"
    response = admin_client.post(url, {"login": "x"})
    assert response.status_code == 403
    assert AuditRecord.objects.get().login == "JohnSmithGithub"


def test_the_admin_lists_records_for_superusers(policies, admin_client):
    act()
    response = admin_client.get("/admin/audit/auditrecord/")
    assert response.status_code == 200
    assert b"JohnSmithGithub" in response.content
