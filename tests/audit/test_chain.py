"""Tamper evidence: the seal chain, audit_verify and the purge that keeps it verifiable."""

from __future__ import annotations

import threading
import time
import types
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit import chain, verification
from audit.models import AuditAnchor, AuditRecord, AuditSeal
from tests.audit.conftest import act, sql


def seal_all() -> None:
    while chain.seal_batch():
        pass


def as_attacker(statement: str, params: list | None = None) -> None:
    """Someone with database access who switches the append-only trigger off first."""
    sql("ALTER TABLE audit_auditrecord DISABLE TRIGGER audit_auditrecord_append_only")
    sql("ALTER TABLE audit_auditseal DISABLE TRIGGER audit_auditseal_append_only")
    sql(statement, params)
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql("ALTER TABLE audit_auditrecord ENABLE TRIGGER audit_auditrecord_append_only")
    sql("ALTER TABLE audit_auditseal ENABLE TRIGGER audit_auditseal_append_only")


def verify_fails() -> str:
    with pytest.raises(CommandError) as info:
        call_command("audit_verify")
    return str(info.value)


def test_records_are_sealed_in_order_each_linked_to_the_one_before(policies):
    records = act(5)
    seal_all()
    seals = list(AuditSeal.objects.order_by("seq"))
    assert [s.seq for s in seals] == [1, 2, 3, 4, 5]
    assert [s.record_id for s in seals] == [
        r.pk for r in sorted(records, key=lambda r: (r.ts, r.pk))
    ]
    assert seals[0].prev_hash == chain.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(seals, seals[1:], strict=False))


def test_records_written_in_one_millisecond_are_sealed_in_the_order_written(policies, monkeypatch):
    # Record timestamps are whole milliseconds, so the sealer's (ts, id) order rests on the
    # ids within one millisecond; ids whose sub-millisecond bits were random sealed such
    # records in random order (the flaky "missing: seals #3–#3" of the test below).
    frozen = types.SimpleNamespace(time_ns=lambda: 1_764_072_000_123_000_000)
    monkeypatch.setattr("audit.models.time", frozen)
    monkeypatch.setattr("audit.documents.time", frozen)
    records = act(20)
    assert len({r.ts for r in records}) == 1
    seal_all()
    sealed = list(AuditSeal.objects.order_by("seq").values_list("record_id", flat=True))
    assert sealed == [r.pk for r in records]


def test_verify_passes_on_an_intact_chain_and_counts_unsealed_records(policies, capsys):
    act(3)
    seal_all()
    act(2)  # written after the sealer ran: not sealed yet, and that is no error
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "audit chain intact: 3 sealed records (#1–#3), 2 not sealed yet" in out


def test_verify_names_an_altered_record(policies):
    records = act(4)
    seal_all()
    target = records[2]
    as_attacker(
        "UPDATE audit_auditrecord SET document = jsonb_set(document, '{data,response,status}', "
        "'\"denied\"') WHERE id = %s",
        [target.pk],
    )
    message = verify_fails()
    assert f"altered record {target.pk}" in message


def test_verify_notices_a_changed_column_too(policies):
    (record,) = act(1)
    seal_all()
    as_attacker("UPDATE audit_auditrecord SET login = 'someone-else' WHERE id = %s", [record.pk])
    assert f"altered record {record.pk}" in verify_fails()


def test_verify_names_a_deleted_record(policies):
    records = act(4)
    seal_all()
    target = records[1]
    as_attacker("DELETE FROM audit_delivery WHERE record_id = %s", [target.pk])
    as_attacker("DELETE FROM audit_auditrecord WHERE id = %s", [target.pk])
    assert f"missing record {target.pk}" in verify_fails()


def test_verify_notices_a_record_deleted_with_its_seal(policies):
    records = act(4)
    seal_all()
    target = records[1]
    as_attacker("DELETE FROM audit_delivery WHERE record_id = %s", [target.pk])
    as_attacker("DELETE FROM audit_auditseal WHERE record_id = %s", [target.pk])
    as_attacker("DELETE FROM audit_auditrecord WHERE id = %s", [target.pk])
    message = verify_fails()
    assert "missing: seals #2–#2 and their records are gone" in message
    assert f"after record {records[0].pk}" in message


def insert_forged_copy(record: AuditRecord, ts) -> uuid.UUID:
    forged = uuid.uuid4()
    sql(
        "INSERT INTO audit_auditrecord (id, ts, flex_user_id, user_pk, login, type, event, action,"
        " outcome, cluster_id, resource_name, document, mac)"
        " SELECT %s, %s, flex_user_id, user_pk, login, type, event, action, 'succeeded',"
        " cluster_id, 'forged', document, mac FROM audit_auditrecord WHERE id = %s",
        [forged, ts, record.pk],
    )
    return forged


def test_verify_names_an_inserted_record(policies):
    records = act(3)
    seal_all()
    forged = insert_forged_copy(records[0], records[1].ts)
    assert f"inserted record {forged}" in verify_fails()


def test_the_sealer_refuses_a_record_it_did_not_write(policies):
    records = act(2)
    forged = insert_forged_copy(records[0], timezone.now())
    sql(
        "INSERT INTO audit_pendingseal (record_id, refused_at, reason) VALUES (%s, NULL, '')",
        [forged],
    )
    seal_all()
    states = chain.state_for([*records, forged])
    assert states[records[0].pk] == "sealed #1" and states[records[1].pk] == "sealed #2"
    assert states[forged] == "refused: does not match its MAC"
    assert f"inserted record {forged}" in verify_fails()


def test_a_record_altered_before_it_was_sealed_is_caught(policies):
    (record,) = act(1)
    as_attacker("UPDATE audit_auditrecord SET outcome = 'failed' WHERE id = %s", [record.pk])
    seal_all()
    assert not AuditSeal.objects.exists()
    assert f"inserted record {record.pk}" in verify_fails()


def test_a_forged_seal_is_caught(policies):
    act(3)
    seal_all()
    as_attacker("UPDATE audit_auditseal SET hash = repeat('a', 64) WHERE seq = 3")
    assert "seal #3" in verify_fails()


def test_verify_says_so_when_the_audit_key_changed(policies, settings):
    act(1)
    seal_all()
    settings.FLEX_AUDIT_KEY = "another-key"
    assert "another audit key" in verify_fails()


def test_state_for_reports_sealed_and_unsealed(policies):
    first, second = act(2)
    chain.seal_batch(limit=1)
    assert chain.state_for([first, second.pk]) == {first.pk: "sealed #1", second.pk: "unsealed"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_never_number_two_records_alike(policies):
    act(60)
    errors = []

    def sealer():
        try:
            for _ in range(20):
                chain.seal_batch(limit=5)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sealer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seal_all()
    assert errors == []
    assert list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 61)
    )
    assert verification.verify().ok


# Retention -----------------------------------------------------------------------------


def test_purge_leaves_verify_passing_and_records_itself(policies, capsys):
    old = act(5)
    seal_all()
    time.sleep(0.005)
    cutoff = timezone.now()
    time.sleep(0.005)  # record timestamps are whole milliseconds
    young = act(2)
    seal_all()

    call_command("audit_purge", "--before", cutoff.isoformat())

    assert set(AuditRecord.objects.values_list("id", flat=True)) >= {r.pk for r in young}
    assert not AuditRecord.objects.filter(pk__in=[r.pk for r in old]).exists()
    purge = AuditRecord.objects.get(event="mutation/purge-audit-log")
    assert purge.type == "mutation/request"
    assert purge.document["data"]["event"][1]["records"] == 5
    anchor = AuditAnchor.objects.get()
    assert anchor.purged_through_seq == 5
    seal_all()
    call_command("audit_verify")
    assert "audit chain intact: 3 sealed records (#6–#8)" in capsys.readouterr().out


def test_purge_by_retention_days_keeps_recent_records(policies, settings):
    act(3)
    seal_all()
    call_command("audit_purge")  # FLEX_AUDIT_RETENTION_DAYS: nothing is that old
    assert AuditRecord.objects.filter(event="mutation/create-topic").count() == 3
    assert not AuditAnchor.objects.exists()


def test_verify_catches_a_purge_behind_flexs_back(policies):
    records = act(4)
    seal_all()
    as_attacker("DELETE FROM audit_delivery")
    as_attacker("DELETE FROM audit_auditseal WHERE seq <= 2")
    as_attacker(
        "DELETE FROM audit_auditrecord WHERE id IN (%s, %s)", [records[0].pk, records[1].pk]
    )
    assert "missing: seals #1–#2 and their records are gone" in verify_fails()


def test_purge_in_batches_leaves_one_anchor_per_batch(policies):
    act(7)
    seal_all()
    result = chain.purge(cutoff=timezone.now() + timedelta(seconds=1), batch=3)
    assert (result.records, result.through_seq) == (7, 7)
    assert sorted(AuditAnchor.objects.values_list("purged_through_seq", flat=True)) == [3, 6, 7]
    assert verification.verify().ok
