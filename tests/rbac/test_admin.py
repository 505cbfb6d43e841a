"""Django admin for policies and access settings: validation inline, filters, bulk actions,
import and export, and exactly one audit record (before and after) per change."""

from __future__ import annotations

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditRecord
from rbac.engine import decide
from rbac.models import AccessSettings, Policy

CHANGELIST = "/admin/rbac/policy/"
FORM = {
    "resource": "cluster, *, topic, tx-*",
    "effect": "Allow",
    "actions": "TOPIC_INSPECT, TOPIC_PRODUCE",
    "roles": "dev, qa",
    "description": "tx producers",
    "enabled": "on",
    "position": "0",
    "_save": "Save",
}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _only_record() -> AuditRecord:
    records = list(AuditRecord.objects.all())
    assert len(records) == 1, [r.event for r in records]
    return records[0]


def _request_of(record: AuditRecord) -> dict:
    return record.document["data"]["event"][1]


def test_an_admin_creates_a_policy_from_text_lists_and_it_is_audited(admin_client):
    response = admin_client.post(f"{CHANGELIST}add/", FORM)
    assert response.status_code == 302
    policy = Policy.objects.get()
    assert policy.resource == ["cluster", "*", "topic", "tx-*"]
    assert policy.actions == ["TOPIC_INSPECT", "TOPIC_PRODUCE"]
    assert policy.roles == ["dev", "qa"]
    assert policy.created_by == policy.updated_by == "alice"
    record = _only_record()
    assert (record.event, record.type, record.outcome) == (
        "mutation/create-policy",
        "mutation/request",
        "succeeded",
    )
    assert record.login == "alice"
    assert record.action == "ADMIN"
    assert _request_of(record)["before"] is None
    assert _request_of(record)["after"]["roles"] == ["dev", "qa"]
    assert record.document["ctx"]["via"] == "admin"
    assert decide(["qa"], "TOPIC_PRODUCE", ["cluster", "c", "topic", "tx-1"]).success


def test_an_invalid_policy_shows_errors_inline_and_changes_nothing(admin_client):
    bad = {**FORM, "resource": "cluster, *, topic, a*b", "actions": "TOPIC_NUKE", "roles": ""}
    response = admin_client.post(f"{CHANGELIST}add/", bad)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert '"a*b"' in errors["resource"][0]
    assert 'unknown action "TOPIC_NUKE"' in errors["actions"][0]
    assert "roles" in errors
    assert Policy.objects.count() == 0
    assert AuditRecord.objects.count() == 0


def test_a_json_style_list_is_accepted_too(admin_client):
    data = {**FORM, "resource": '["cluster", "*"]', "roles": '["*"]'}
    assert admin_client.post(f"{CHANGELIST}add/", data).status_code == 302
    assert Policy.objects.get().resource == ["cluster", "*"]


def test_a_change_is_audited_with_before_and_after(admin_client, make_policy):
    policy = make_policy(["cluster", "*"], "Allow", ["TOPIC_CREATE"], ["dev"])
    data = {**FORM, "resource": "cluster, *", "effect": "Deny", "actions": "TOPIC_CREATE"}
    response = admin_client.post(f"{CHANGELIST}{policy.pk}/change/", data)
    assert response.status_code == 302
    record = _only_record()
    assert record.event == "mutation/edit-policy"
    before, after = _request_of(record)["before"], _request_of(record)["after"]
    assert (before["effect"], after["effect"]) == ("Allow", "Deny")
    assert before["roles"] == ["dev"] and after["roles"] == ["dev", "qa"]
    assert before["id"] == after["id"] == policy.pk


def test_a_delete_is_audited_with_the_policy_it_removed(admin_client, make_policy):
    policy = make_policy(["cluster", "*"], "Allow", ["TOPIC_CREATE"], ["dev"])
    response = admin_client.post(f"{CHANGELIST}{policy.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Policy.objects.exists()
    record = _only_record()
    assert record.event == "mutation/delete-policy"
    assert _request_of(record)["before"]["actions"] == ["TOPIC_CREATE"]
    assert _request_of(record)["after"] is None


@pytest.mark.parametrize(
    "action, enabled", [("disable_policies", False), ("enable_policies", True)]
)
def test_bulk_enable_and_disable_leave_one_audit_record(admin_client, make_policy, action, enabled):
    first = make_policy(["cluster", "*"], "Allow", ["TOPIC_CREATE"], ["dev"], enabled=not enabled)
    second = make_policy(["cluster", "*"], "Allow", ["TOPIC_EDIT"], ["dev"], enabled=not enabled)
    untouched = make_policy(
        ["cluster", "*"], "Allow", ["TOPIC_DELETE"], ["dev"], enabled=not enabled
    )
    target = ["cluster", "c"]
    assert decide(["dev"], "TOPIC_CREATE", target).success is not enabled
    response = admin_client.post(
        CHANGELIST, {"action": action, "_selected_action": [first.pk, second.pk], "index": 0}
    )
    assert response.status_code == 302
    assert list(Policy.objects.filter(enabled=enabled).values_list("pk", flat=True)) == [
        first.pk,
        second.pk,
    ]
    assert Policy.objects.get(pk=untouched.pk).enabled is not enabled
    assert decide(["dev"], "TOPIC_CREATE", target).success is enabled
    record = _only_record()
    assert record.event == "mutation/edit-policy"
    request = _request_of(record)
    assert [p["enabled"] for p in request["before"]] == [not enabled, not enabled]
    assert [p["enabled"] for p in request["after"]] == [enabled, enabled]


def test_bulk_delete_leaves_one_audit_record(admin_client, make_policy):
    ids = [make_policy(["cluster", "*"], "Allow", [a], ["dev"]).pk for a in ("TOPIC_EDIT", "ADMIN")]
    response = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert response.status_code == 302
    assert not Policy.objects.exists()
    record = _only_record()
    assert record.event == "mutation/delete-policy"
    assert [p["id"] for p in _request_of(record)["before"]] == ids


def test_access_settings_changes_are_audited(admin_client):
    access = AccessSettings.load()
    response = admin_client.post(
        f"/admin/rbac/accesssettings/{access.pk}/change/",
        {
            "authorized_roles": "admin, member, contractors",
            "admin_roles": "admins",
            "auditor_roles": "auditors",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert AccessSettings.load().authorized_roles == ["admin", "member", "contractors"]
    record = _only_record()
    assert record.event == "mutation/edit-access-settings"
    assert _request_of(record)["before"]["authorized_roles"] == ["admin", "member"]
    assert _request_of(record)["after"]["authorized_roles"][-1] == "contractors"


def test_the_list_filters_by_effect_role_and_action_and_searches(admin_client, make_policy):
    make_policy(["cluster", "*"], "Allow", ["TOPIC_CREATE"], ["dev"], description="alpha")
    make_policy(["cluster", "*"], "Deny", ["TOPIC_DELETE"], ["ops", "dev"], description="beta")
    make_policy(["cluster", "*", "topic", "tx-*"], "Allow", ["TOPIC_EDIT"], ["qa"])

    def shown(query: str) -> list[str]:
        response = admin_client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200
        return sorted(
            p.effect + ":" + ",".join(p.actions) for p in response.context["cl"].result_list
        )

    assert shown("effect__exact=Deny") == ["Deny:TOPIC_DELETE"]
    assert shown("role=dev") == ["Allow:TOPIC_CREATE", "Deny:TOPIC_DELETE"]
    assert shown("role=qa") == ["Allow:TOPIC_EDIT"]
    assert shown("action_name=TOPIC_EDIT") == ["Allow:TOPIC_EDIT"]
    assert shown("q=beta") == ["Deny:TOPIC_DELETE"]
    assert shown("q=tx-") == ["Allow:TOPIC_EDIT"]
    page = admin_client.get(CHANGELIST).content.decode()
    assert "Import YAML" in page and "Export YAML" in page


def test_the_list_filters_by_what_the_resource_names(admin_client, make_policy):
    make_policy(["cluster", "*"], "Allow", ["TOPIC_CREATE"], ["dev"])
    make_policy(["cluster", "*", "topic", "tx-*"], "Allow", ["TOPIC_EDIT"], ["qa"])
    make_policy(["cluster", "*", "group", "tx-*"], "Allow", ["GROUP_EDIT"], ["qa"])

    def shown(kind: str) -> list[str]:
        response = admin_client.get(f"{CHANGELIST}?resource_kind={kind}")
        assert response.status_code == 200
        return [",".join(p.actions) for p in response.context["cl"].result_list]

    assert shown("cluster") == ["TOPIC_CREATE"]
    assert shown("topic") == ["TOPIC_EDIT"]
    assert shown("group") == ["GROUP_EDIT"]


def test_the_admin_imports_an_uploaded_file_and_it_is_audited(admin_client):
    text = (
        b"policies:\n"
        b"  - {resource: [cluster, '*'], effect: Allow, actions: [TOPIC_EDIT], role: dev}\n"
    )
    upload = SimpleUploadedFile("p.yaml", text, content_type="application/yaml")
    response = admin_client.post(reverse("admin:rbac_policy_import"), {"file": upload})
    assert response.status_code == 302
    assert Policy.objects.get().actions == ["TOPIC_EDIT"]
    record = _only_record()
    assert record.event == "mutation/import-policies"
    assert record.document["ctx"]["via"] == "admin"
    assert record.login == "alice"


def test_the_admin_import_lists_errors_and_changes_nothing(admin_client, make_policy):
    make_policy(["cluster", "*"], "Allow", ["TOPIC_EDIT"], ["dev"])
    text = b"policies:\n  - {resource: [cluster, '*'], effect: Allow, actions: [NOPE], role: dev}\n"
    upload = SimpleUploadedFile("p.yaml", text)
    response = admin_client.post(
        reverse("admin:rbac_policy_import"), {"file": upload, "replace": "on"}
    )
    assert response.status_code == 200
    assert "policies[0].actions: unknown action &quot;NOPE&quot;" in response.content.decode()
    assert Policy.objects.count() == 1
    assert _only_record().outcome == "failed"


def test_the_admin_exports_a_download(admin_client, make_policy):
    make_policy(["cluster", "*"], "Allow", ["TOPIC_EDIT"], ["dev"])
    response = admin_client.get(reverse("admin:rbac_policy_export"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = yaml.safe_load(response.content)
    assert data["policies"] == [
        {"resource": ["cluster", "*"], "effect": "Allow", "actions": ["TOPIC_EDIT"], "role": "dev"}
    ]


def test_staff_without_an_admin_role_cannot_edit_policies(client, personas, make_policy):
    bob = personas["bob"]
    bob.is_staff = True
    bob.save()
    policy = make_policy(["cluster", "*"], "Allow", ["TOPIC_EDIT"], ["dev"])
    client.force_login(bob)
    assert client.get(CHANGELIST).status_code == 403
    response = client.post(f"{CHANGELIST}{policy.pk}/change/", {**FORM, "effect": "Deny"})
    assert response.status_code == 403
    assert Policy.objects.get().effect == "Allow"
    assert client.get(reverse("admin:rbac_policy_import")).status_code == 403


def test_the_add_form_shows_text_lists_and_the_catalogue(admin_client, make_policy):
    policy = make_policy(["cluster", "*", "topic", "tx-*"], "Allow", ["TOPIC_EDIT"], ["a", "b"])
    page = admin_client.get(f"{CHANGELIST}{policy.pk}/change/").content.decode()
    assert 'value="cluster, *, topic, tx-*"' in page
    assert 'value="a, b"' in page
    assert "KSQLDB_INSERT" in admin_client.get(f"{CHANGELIST}add/").content.decode()


def test_access_settings_open_on_the_single_row(admin_client):
    response = admin_client.get("/admin/rbac/accesssettings/")
    assert response.status_code == 302
    assert response["Location"].endswith(
        f"/admin/rbac/accesssettings/{AccessSettings.load().pk}/change/"
    )
    assert admin_client.get(response["Location"]).status_code == 200


def test_a_profile_change_in_admin_is_audited_because_it_changes_roles(admin_client, personas):
    profile = personas["bob"].flex_profile
    page = admin_client.get(f"/admin/rbac/profile/{profile.pk}/change/")
    assert page.status_code == 200
    data = {
        "user": personas["bob"].pk,
        "provider": "github",
        "login": "bob",
        "name": "Bob Builder",
        "email": "bob@example.com",
        "github_id": "",
        "provider_roles": '["member", "platform", "admins"]',
        "_save": "Save",
    }
    response = admin_client.post(f"/admin/rbac/profile/{profile.pk}/change/", data)
    assert response.status_code == 302
    record = _only_record()
    assert record.event == "mutation/edit-profile"
    request = _request_of(record)
    assert request["before"]["provider_roles"] == ["member", "platform"]
    assert request["after"]["provider_roles"] == ["member", "platform", "admins"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cluster, *, topic, tx-*", ["cluster", "*", "topic", "tx-*"]),
        ('["cluster", "*"]', ["cluster", "*"]),
        ("[cluster, *]", ["cluster", "*"]),
        ("cluster\n'*'", ["cluster", "*"]),
    ],
)
def test_text_lists_read_as_people_write_them(text, expected):
    from rbac.forms import ListField

    assert ListField().clean(text) == expected
