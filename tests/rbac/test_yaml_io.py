"""Policy files: import all or nothing, export, round trip, the commands and their audit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from audit.models import AuditRecord
from rbac.engine import decide
from rbac.models import AccessSettings, Policy
from rbac.yaml_io import PolicyFileError, export_text, import_text, parse

SAMPLE = Path(__file__).resolve().parents[2] / "rbac" / "samples" / "policies.yaml"

# Written the way the modelled console's sample files are: block-list resources,
# role: "*" and roles: [...], a Stage policy and a tenants section.
CONSOLE_FILE = """
authorized_roles:
  - "*"
admin_roles:
  - "kafka-admins"
policies:
  - resource:
      - cluster
      - "*"
    effect: "Allow"
    actions: ["TOPIC_INSPECT", "TOPIC_DATA_QUERY"]
    role: "*"
  - resource:
      - cluster
      - "Enpl9Kw4QK6pwK0LaRVssQ"
      - topic
      - "tx-*"
    effect: "Deny"
    actions: ["TOPIC_DELETE"]
    roles: ["dev", "qa"]
  - resource: ["cluster", "*"]
    effect: "Stage"
    actions: ["TOPIC_TRUNCATE"]
    role: "dev"
tenants:
  - name: "Transactions"
    resources:
      - resource: ["cluster", "*", "topic", "tx-*"]
"""


def _rules() -> list[tuple]:
    return [
        (p.resource, p.effect, p.actions, p.roles, p.description, p.enabled)
        for p in Policy.objects.order_by("position", "id")
    ]


def test_the_sample_file_imports_unchanged_and_decides_as_described(db):
    result = import_text(SAMPLE.read_text(), replace=True)
    assert result.added == 4
    topic = ["cluster", "any", "topic", "orders"]
    assert decide(["admins"], "TOPIC_DELETE", topic).success
    for action in ("TOPIC_INSPECT", "TOPIC_PRODUCE", "TOPIC_CREATE"):
        assert decide(["member"], action, topic).success, action
    denied = decide(["member"], "TOPIC_DELETE", topic)
    assert not denied.success
    assert denied.decided_by["effect"] == "Deny"
    assert AccessSettings.load().admin_roles == ["admins"]


def test_a_console_file_imports_and_reports_what_is_not_enforced(db):
    result = import_text(CONSOLE_FILE)
    assert result.added == 3
    assert any("Stage" in note and "policies[2]" in note for note in result.notes)
    assert any(note.startswith("tenants:") for note in result.notes)
    access = AccessSettings.load()
    assert access.authorized_roles == ["*"]
    assert access.admin_roles == ["kafka-admins"]
    assert access.tenants[0]["name"] == "Transactions"
    stage = Policy.objects.get(effect="Stage")
    assert stage.roles == ["dev"]
    assert Policy.objects.get(effect="Deny").roles == ["dev", "qa"]
    assert not decide(["dev"], "TOPIC_TRUNCATE", ["cluster", "c"]).success


def test_one_invalid_policy_changes_nothing_and_every_error_is_indexed(db, make_policy):
    make_policy(["cluster", "*"], "Allow", ["TOPIC_INSPECT"], ["old"])
    AccessSettings.load()
    bad = """
admin_roles: [newadmins]
policies:
  - {resource: [cluster, "*"], effect: Allow, actions: [TOPIC_CREATE], role: dev}
  - {resource: [cluster, "*", topic, "a*b"], effect: Allow, actions: [TOPIC_CREATE], role: dev}
  - {resource: [cluster, "*"], effect: Permit, actions: [TOPIC_NUKE]}
"""
    before = _rules()
    with pytest.raises(PolicyFileError) as info:
        import_text(bad, replace=True)
    errors = info.value.errors
    assert any(e.startswith("policies[1].resource:") and '"a*b"' in e for e in errors)
    assert any(e.startswith("policies[2].effect:") and '"Permit"' in e for e in errors)
    assert any(e.startswith("policies[2].actions:") and '"TOPIC_NUKE"' in e for e in errors)
    assert any(e.startswith("policies[2].roles:") for e in errors)
    assert not any(e.startswith("policies[0]") for e in errors)
    assert _rules() == before
    assert AccessSettings.load().admin_roles != ["newadmins"]


def test_export_then_import_round_trips_to_identical_policies(db, make_policy):
    make_policy(["cluster", "*"], "Allow", ["TOPIC_INSPECT", "TOPIC_PRODUCE"], ["*"])
    make_policy(
        ["cluster", "c1", "topic", "tx-*"],
        "Deny",
        ["TOPIC_DELETE"],
        ["dev", "qa"],
        description="no",
    )
    make_policy(
        ["cluster", "*", "topic", "*-events"], "Allow", ["TOPIC_EDIT"], ["ops"], enabled=False
    )
    make_policy(["cluster", "*"], "Stage", ["TOPIC_TRUNCATE"], ["dev"])
    make_policy(
        ["cluster", "*", "group", "etl-*"], "Allow", ["GROUP_EDIT", "GROUP_DELETE"], ["ops"]
    )
    make_policy(
        ["cluster", "*"], "Allow", ["TOPIC_INSPECT", "TOPIC_PRODUCE"], ["*"], description="dup"
    )
    access = AccessSettings.load()
    access.admin_roles, access.auditor_roles, access.tenants = ["a"], ["b"], [{"name": "t"}]
    access.save()
    before, exported = _rules(), export_text()

    Policy.objects.all().delete()
    access.admin_roles = []
    access.save()
    import_text(exported, replace=True)

    assert _rules() == before
    assert AccessSettings.load().snapshot() == access.snapshot() | {"admin_roles": ["a"]}
    assert yaml.safe_load(export_text()) == yaml.safe_load(exported)


def test_a_file_naming_consumer_groups_imports_and_decides(db):
    from rbac import engine

    text = (
        "policies:\n"
        "  - resource:\n"
        "      - cluster\n"
        "      - '*'\n"
        "      - group\n"
        "      - 'etl-*'\n"
        "    effect: Allow\n"
        "    actions: [GROUP_EDIT]\n"
        "    role: ops\n"
    )
    import_text(text, replace=True)
    engine.invalidate()
    assert Policy.objects.get().resource == ["cluster", "*", "group", "etl-*"]
    assert engine.decide(["ops"], "GROUP_EDIT", ["cluster", "c", "group", "etl-1"]).success
    assert not engine.decide(["ops"], "GROUP_EDIT", ["cluster", "c", "topic", "etl-1"]).success
    assert not engine.decide(["ops"], "GROUP_EDIT", ["cluster", "c", "group", "web"]).success


def test_import_without_replace_adds_only_new_policies(db):
    import_text(SAMPLE.read_text())
    again = import_text(SAMPLE.read_text())
    assert (again.added, again.unchanged, again.removed) == (0, 4, 0)
    assert Policy.objects.count() == 4
    replaced = import_text(
        "policies:\n  - {resource: [cluster, x], effect: Deny, "
        "actions: [TOPIC_CREATE], role: dev}\n",
        replace=True,
    )
    assert (replaced.added, replaced.removed) == (1, 4)
    assert Policy.objects.count() == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("policies: [\n  {resource: [cluster", "YAML error at line"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("", "must be a YAML mapping"),
        ("admin_roles: [x]\n", "policies: missing"),
        ("policies: {resource: x}\n", "must be a list of policies"),
        ("policies: []\nadmin_roles: admins\n", 'admin_roles: "admins" must be a list'),
        ("policies:\n  - resource: [cluster, *]\n", "YAML error"),
    ],
)
def test_a_malformed_file_is_refused_with_a_clear_error(db, text, expected):
    with pytest.raises(PolicyFileError) as info:
        parse(text)
    assert any(expected in error for error in info.value.errors), info.value.errors


def test_an_import_leaves_one_audit_record_with_before_and_after(db, make_policy):
    make_policy(["cluster", "*"], "Allow", ["TOPIC_INSPECT"], ["old"])
    import_text(SAMPLE.read_text(), replace=True, by="cli:test")
    record = AuditRecord.objects.get()
    assert record.event == "mutation/import-policies"
    assert record.outcome == "succeeded"
    request = record.document["data"]["event"][1]
    assert [p["roles"] for p in request["before"]["policies"]] == [["old"]]
    assert len(request["after"]["policies"]) == 4
    assert request["after"]["access"]["admin_roles"] == ["admins"]
    assert request["replace"] is True
    assert record.document["ctx"]["via"] == "cli"


def test_a_refused_import_leaves_one_failed_audit_record(db):
    with pytest.raises(PolicyFileError):
        import_text("policies: [{effect: Permit}]")
    record = AuditRecord.objects.get()
    assert (record.event, record.outcome) == ("mutation/import-policies", "failed")
    assert "policies[0].effect" in record.document["data"]["response"]["error"]


def test_the_commands_import_and_export(db, tmp_path):
    out = io.StringIO()
    call_command("rbac_import", str(SAMPLE), "--replace", stdout=out)
    assert "4 policies added" in out.getvalue()
    exported = io.StringIO()
    call_command("rbac_export", stdout=exported)
    assert yaml.safe_load(exported.getvalue())["policies"][2]["effect"] == "Deny"
    target = tmp_path / "out.yaml"
    call_command("rbac_export", "--output", str(target), stdout=io.StringIO())
    assert yaml.safe_load(target.read_text()) == yaml.safe_load(exported.getvalue())


def test_the_import_command_lists_every_error_and_fails(db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policies:\n  - {resource: [cluster], effect: Allow, actions: [X], role: a}\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("rbac_import", str(bad), stderr=err)
    assert "policies[0].resource" in err.getvalue()
    assert 'policies[0].actions: unknown action "X"' in err.getvalue()
    assert Policy.objects.count() == 0


def test_the_import_command_names_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("rbac_import", str(tmp_path / "nope.yaml"))
