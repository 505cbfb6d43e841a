"""The verifiable ledger: signing keys, checkpoints, proofs, the standalone verifier, and what
a saved checkpoint catches that the seal chain alone cannot."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management import CommandError, call_command
from django.test import Client

from audit import chain, gate, ledger, merkle, signing
from audit.models import AuditRecord, AuditSeal, Checkpoint, Delivery, SigningKey
from audit.verify import checkpoint_message
from tests.audit.conftest import act, create_topic_op, ctx, sql
from tests.audit.test_views import client_for, persona_actor
from tests.conftest import ROOT


def seal_all() -> None:
    while chain.seal_batch():
        pass


def checkpointed(n: int = 3) -> tuple[list[AuditRecord], Checkpoint]:
    records = act(n)
    seal_all()
    made = ledger.checkpoint()
    assert made is not None
    return records, made


def as_attacker(*statements: tuple[str, list]) -> None:
    """Someone with database access who switches the append-only triggers off first."""
    tables = ("audit_auditrecord", "audit_auditseal")
    for table in tables:
        sql(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
    for statement, params in statements:
        sql(statement, params)
    for table in tables:
        sql(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def delete_newest(n: int) -> list[str]:
    """Delete the newest ``n`` sealed records with their seals and outbox rows, by SQL."""
    seals = list(AuditSeal.objects.order_by("-seq")[:n])
    ids = [s.record_id for s in seals]
    as_attacker(
        ("DELETE FROM audit_delivery WHERE record_id = ANY(%s)", [ids]),
        ("DELETE FROM audit_pendingseal WHERE record_id = ANY(%s)", [ids]),
        ("DELETE FROM audit_auditseal WHERE record_id = ANY(%s)", [ids]),
        ("DELETE FROM audit_auditrecord WHERE id = ANY(%s)", [ids]),
    )
    return [str(i) for i in ids]


def save(path: Path, value: object) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return path


def run_verifier(*args: str) -> subprocess.CompletedProcess:
    """``python -m audit.verify`` as an auditor runs it: no Django settings, no PYTHON*
    variables, no user site; ``-X importtime`` lists every module it imported."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-E", "-s", "-X", "importtime", "-m", "audit.verify", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def imported(result: subprocess.CompletedProcess) -> set[str]:
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return modules


# Keys ---------------------------------------------------------------------------------------


def test_the_public_keys_are_served_without_sign_in(db):
    response = Client().get("/api/audit/keys")

    assert response.status_code == 200
    (key,) = response.json()["keys"]
    raw = base64.b64decode(key["public_key"])
    assert len(raw) == 32 and key["alg"] == "Ed25519" and key["retired"] is None
    assert key["id"] == hashlib.sha256(raw).hexdigest()[:16]
    assert key["id"] == signing.current_signer().key_id
    assert key["created"].endswith("Z")


def test_audit_keys_prints_the_keys(db, capsys):
    call_command("audit_keys")
    line = capsys.readouterr().out
    signer = signing.current_signer()
    assert signer.key_id in line and signer.public_b64 in line and "current" in line
    call_command("audit_keys", "--json")
    assert json.loads(capsys.readouterr().out) == signing.keys_json()


def test_a_rotation_keeps_the_old_key_listed_and_its_checkpoints_verifying(
    policies, settings, tmp_path
):
    _, first = checkpointed(2)
    old = signing.current_signer()
    new_path = tmp_path / "rotated.pem"
    signing.generate_key_file(new_path)
    settings.FLEX_AUDIT_SIGNING_KEY_FILE = str(new_path)
    act(1)
    seal_all()
    second = ledger.checkpoint()

    keys = {k["id"]: k for k in signing.keys_json()["keys"]}
    assert set(keys) == {old.key_id, second.key_id} and old.key_id != second.key_id
    assert keys[old.key_id]["retired"] is not None and keys[second.key_id]["retired"] is None
    assert first.key_id == old.key_id
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(keys[old.key_id]["public_key"]))
    public.verify(base64.b64decode(first.signature), checkpoint_message(vars(first)))


def test_a_key_file_that_is_not_an_ed25519_key_is_refused(tmp_path):
    bad = save(
        tmp_path / "bad.pem", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(signing.SigningKeyError, match="PKCS#8"):
        signing.load_signer(bad)
    with pytest.raises(signing.SigningKeyError, match="cannot be read"):
        signing.load_signer(tmp_path / "missing.pem")


# Checkpoints ------------------------------------------------------------------------------


def test_a_checkpoint_signs_the_tree_of_the_sealed_records(policies):
    records, cp = checkpointed(3)

    assert (cp.seq, cp.records) == (1, 3)
    assert cp.head == AuditSeal.objects.get(seq=3).hash
    leaves = [merkle.leaf_hash(ledger.published_value(r).encode()) for r in records]
    assert cp.root == merkle.root_of(leaves).hex()
    public = {k.id: k for k in SigningKey.objects.all()}[cp.key_id]
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public.public_key)).verify(
        base64.b64decode(cp.signature), checkpoint_message(ledger.checkpoint_json(cp))
    )
    record = AuditRecord.objects.get(pk=cp.record_id)
    assert record.type == record.event == "audit/checkpoint"
    assert record.document["data"]["event"][1] == {
        **{k: v for k, v in ledger.checkpoint_json(cp).items() if k != "key_id"},
        "key-id": cp.key_id,
    }
    assert Delivery.objects.filter(record=record, sink="kafka").exists()


def test_no_checkpoint_is_made_when_only_checkpoints_were_sealed(policies):
    checkpointed(2)
    seal_all()  # the first checkpoint's own record
    assert ledger.checkpoint() is None
    act(1)
    seal_all()
    second = ledger.checkpoint()
    assert (second.seq, second.records) == (2, 4)


def test_checkpoints_are_served_latest_and_by_number(personas, policies):
    _, cp = checkpointed(2)
    reader = client_for(personas["bob"])

    assert reader.get("/api/audit/checkpoints/latest").json() == ledger.checkpoint_json(cp)
    assert reader.get("/api/audit/checkpoints/1").json() == ledger.checkpoint_json(cp)
    missing = reader.get("/api/audit/checkpoints/99")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert reader.get(f"/api/audit/checkpoints/{2**70}").status_code == 404
    assert Client().get("/api/audit/checkpoints/latest").status_code == 401  # not signed in


def test_no_checkpoint_yet_is_a_404(personas):
    assert client_for(personas["carol"]).get("/api/audit/checkpoints/latest").status_code == 404


def test_a_consistency_proof_links_two_checkpoints(personas, policies):
    _, first = checkpointed(3)
    act(4)
    seal_all()
    second = ledger.checkpoint()
    url = f"/api/audit/checkpoints/consistency?from={first.seq}&to={second.seq}"

    answer = client_for(personas["carol"]).get(url).json()

    proof = [bytes.fromhex(h) for h in answer["proof"]]
    assert answer["from"]["seq"] == first.seq and answer["to"]["seq"] == second.seq
    assert merkle.verify_consistency(
        first.records, second.records, bytes.fromhex(first.root), bytes.fromhex(second.root), proof
    )


@pytest.mark.parametrize(
    ("query", "status"),
    [("from=x&to=1", 400), ("from=1", 400), ("from=2&to=1", 400), ("from=1&to=9", 404)],
)
def test_bad_consistency_queries_are_clear_errors(personas, policies, query, status):
    checkpointed(1)
    act(1)
    seal_all()
    ledger.checkpoint()
    response = client_for(personas["alice"]).get(f"/api/audit/checkpoints/consistency?{query}")
    assert response.status_code == status
    assert "error" in response.json()


# Proofs and the standalone verifier -------------------------------------------------------


@pytest.fixture
def evidence(personas, policies, tmp_path) -> dict[str, Path]:
    """What an auditor saves: keys, a checkpoint, a record as published and its proof."""
    records, cp = checkpointed(5)
    reader = client_for(personas["alice"])
    proof = reader.get(f"/api/audit/{records[2].pk}/proof").json()
    return {
        "keys": save(tmp_path / "keys.json", Client().get("/api/audit/keys").json()),
        "checkpoint": save(tmp_path / "cp.json", reader.get("/api/audit/checkpoints/1").json()),
        "record": save(tmp_path / "rec.json", proof["value"]),
        "proof": save(tmp_path / "proof.json", proof),
    }


def verifier_args(files: dict[str, Path]) -> list[str]:
    return [arg for name, path in files.items() for arg in (f"--{name}", str(path))]


def test_a_proof_verifies_with_the_standalone_verifier_without_django(evidence):
    result = run_verifier(*verifier_args(evidence))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "signature valid" in result.stdout
    assert "leaf 2 of checkpoint #1" in result.stdout
    assert "cryptography" in imported(result)
    assert not imported(result) & {"django", "rest_framework", "kafka", "psycopg"}


def test_the_verifier_rejects_an_altered_record(evidence):
    value = evidence["record"].read_text()
    altered = value.replace('"JohnSmithGithub"', '"SomeoneElse"', 1)
    assert altered != value
    save(evidence["record"], altered)

    result = run_verifier(*verifier_args(evidence))

    assert result.returncode == 1
    assert "the signature does not verify" in result.stderr
    assert "NOT included in checkpoint #1" in result.stderr


def test_the_verifier_rejects_a_forged_checkpoint(evidence):
    cp = json.loads(evidence["checkpoint"].read_text())
    save(evidence["checkpoint"], {**cp, "records": cp["records"] - 1})

    result = run_verifier(*verifier_args(evidence))

    assert result.returncode == 1
    assert "checkpoint #1: the signature does not verify" in result.stderr


def test_the_verifier_checks_consistency_between_saved_checkpoints(evidence, personas, tmp_path):
    act(3)
    seal_all()
    newer = ledger.checkpoint()
    reader = client_for(personas["alice"])
    url = f"/api/audit/checkpoints/consistency?from=1&to={newer.seq}"
    files = {
        "keys": evidence["keys"],
        "checkpoint": save(tmp_path / "new.json", ledger.checkpoint_json(newer)),
        "from-checkpoint": evidence["checkpoint"],
        "consistency": save(tmp_path / "c.json", reader.get(url).json()),
    }
    good = run_verifier(*verifier_args(files))
    assert good.returncode == 0, good.stderr
    assert f"checkpoint #{newer.seq} extends checkpoint #1" in good.stdout

    answer = json.loads(files["consistency"].read_text())
    save(files["consistency"], {**answer, "proof": answer["proof"][::-1]})
    bad = run_verifier(*verifier_args(files))
    assert bad.returncode == 1 and "does NOT extend" in bad.stderr


def test_a_proof_is_for_those_who_may_read_the_record(personas, policies):
    bob = persona_actor(personas["bob"])
    record = gate.perform(bob, create_topic_op("bob-topic"), ctx()).record
    seal_all()
    ledger.checkpoint()
    url = f"/api/audit/{record.pk}/proof"

    assert client_for(personas["bob"]).get(url).status_code == 200
    assert client_for(personas["carol"]).get(url).status_code == 200
    assert client_for(personas["mallory"]).get(url).status_code == 404
    assert Client().get(url).status_code == 401  # not signed in


def test_a_record_newer_than_the_checkpoint_has_no_proof_yet(personas, policies):
    checkpointed(1)
    (late,) = act(1)
    reader = client_for(personas["alice"])

    unsealed = reader.get(f"/api/audit/{late.pk}/proof")
    assert unsealed.status_code == 409 and "not sealed yet" in unsealed.json()["detail"]
    seal_all()
    newer = reader.get(f"/api/audit/{late.pk}/proof")
    assert newer.status_code == 409 and "newer than checkpoint #1" in newer.json()["detail"]
    for bad in ("x", "0", "-1", "²", "1.5"):
        answer = reader.get(f"/api/audit/{late.pk}/proof", {"checkpoint": bad})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_filter"
    assert reader.get(f"/api/audit/{late.pk}/proof?checkpoint=7").status_code == 409


def test_the_record_page_says_signature_valid_and_which_checkpoint(personas, policies):
    records, cp = checkpointed(2)

    page = client_for(personas["alice"]).get(f"/settings/audit-log/{records[0].pk}/")

    assert "signature valid, included in checkpoint #1" in page.content.decode()


def test_the_record_page_says_when_a_record_is_not_checkpointed_yet(personas, policies):
    (record,) = act(1)
    page = client_for(personas["alice"]).get(f"/settings/audit-log/{record.pk}/")
    assert "not sealed yet" in page.content.decode()


# What the chain alone cannot see -----------------------------------------------------------


def test_deleting_the_newest_records_passes_the_chain_but_fails_the_checkpoint(
    policies, tmp_path, capsys
):
    _, cp = checkpointed(5)
    saved = save(tmp_path / "cp.json", ledger.checkpoint_json(cp))
    delete_newest(2)

    call_command("audit_verify")  # the chain alone: intact
    assert "audit chain intact" in capsys.readouterr().out
    with pytest.raises(CommandError) as failed:
        call_command("audit_verify", "--checkpoint", str(saved))
    assert "cut off: checkpoint #1 covers 5 sealed records, the chain now ends at seal #3" in str(
        failed.value
    )


def test_rewriting_a_record_fails_the_checkpoint(policies, tmp_path, capsys):
    records, cp = checkpointed(4)
    saved = save(tmp_path / "cp.json", ledger.checkpoint_json(cp))
    as_attacker(
        (
            "UPDATE audit_auditrecord SET document = jsonb_set(document, "
            "'{data,response,status}', '\"denied\"') WHERE id = %s",
            [records[1].pk],
        )
    )
    with pytest.raises(CommandError):
        call_command("audit_verify", "--checkpoint", str(saved))
    named = capsys.readouterr().err
    assert "history rewritten: the first 4 sealed records no longer hash to the root" in named
    assert "(record sealed as #2 was altered)" in named


def test_an_intact_log_passes_its_saved_checkpoint(policies, tmp_path, capsys):
    _, cp = checkpointed(3)
    saved = save(tmp_path / "cp.json", ledger.checkpoint_json(cp))
    act(2)
    seal_all()
    call_command("audit_verify", "--checkpoint", str(saved))
    assert "checkpoint #1: 3 records rehashed" in capsys.readouterr().out


def test_a_forged_checkpoint_file_is_named(policies, tmp_path):
    _, cp = checkpointed(2)
    forged = save(tmp_path / "cp.json", {**ledger.checkpoint_json(cp), "records": 1})
    with pytest.raises(CommandError, match="checkpoint #1: the signature does not verify"):
        call_command("audit_verify", "--checkpoint", str(forged))
    with pytest.raises(CommandError, match="cannot read the checkpoint"):
        call_command("audit_verify", "--checkpoint", str(tmp_path / "none.json"))
