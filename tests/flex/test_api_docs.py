"""The API explains itself: an offline explorer at /api/docs/, a schema that validates with
no warning, every endpoint described; and the CSV exports take API tokens."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from flex import tokens
from tests.audit.test_export import by_id, download
from tests.audit.test_views import client_for, isolate, make_records, persona_actor


@pytest.fixture(autouse=True)
def isolated(settings) -> None:
    isolate(settings)


def schema(client: Client) -> dict:
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_validates_with_no_warning(db, tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn raises on any warning or error drf-spectacular reports.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.read_text().startswith("openapi: 3")


def test_the_explorer_is_served_from_bundled_files_without_inline_script(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert len(scripts) == 3 and all(" src=" in tag for tag in scripts), scripts
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "nothing from another host"
    for asset in re.findall(r"(?:src|href)=\"/static/([^\"?]+)", page):
        assert finders.find(asset), f"{asset} is not bundled"
    assert any("swagger-ui-bundle.js" in tag for tag in scripts)


def test_the_explorers_init_script_points_at_the_schema(client, db):
    response = client.get("/api/docs/", {"script": ""})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert reverse("api-schema") in response.content.decode()


def test_every_operation_has_a_summary_and_its_error_answers(client, db):
    paths = schema(client)["paths"]
    operations = [
        (path, method, op)
        for path, ops in paths.items()
        for method, op in ops.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]
    assert len(operations) >= 12
    for path, method, op in operations:
        assert op.get("summary") or op.get("description"), (path, method)
        errors = {code for code in op["responses"] if code.startswith(("4", "5"))}
        assert errors, f"{method} {path} describes no error answer"


def test_the_audit_list_documents_its_filters_limit_mine_and_cursor(client, db):
    listing = schema(client)["paths"]["/api/audit/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert names >= {"user", "type", "event", "action", "outcome", "cluster", "resource"}
    assert names >= {"since", "until", "limit", "mine", "after"}
    assert set(listing["responses"]) >= {"200", "400", "403"}
    bad = listing["responses"]["400"]["content"]["application/json"]
    assert bad["examples"], "the 400 answer carries an example"


def test_an_auditor_exports_csv_with_an_api_token(personas):
    carol = personas["carol"]
    mine = make_records(persona_actor(personas["bob"]), 2)
    _, token = tokens.issue(carol, "tests")

    response = Client().get(reverse("audit-log-export"), HTTP_AUTHORIZATION=f"Token {token}")

    assert {str(r.id) for r in mine} <= set(by_id(download(response)))
    export = AuditRecord.objects.get(event="query/export-audit-log")
    assert export.login == carol.username
    assert export.document["ctx"]["via"] == "api"


def test_a_token_exports_only_its_users_own_user_log(personas):
    bob = personas["bob"]
    own = make_records(persona_actor(bob), 1)
    other = make_records(persona_actor(personas["alice"]), 1)
    _, token = tokens.issue(bob, "tests")

    rows = by_id(
        download(Client().get(reverse("user-log-export"), HTTP_AUTHORIZATION=f"Token {token}"))
    )

    assert str(own[0].id) in rows and str(other[0].id) not in rows


def test_a_bad_token_is_a_401_and_exports_nothing(personas):
    response = Client().get(reverse("audit-log-export"), HTTP_AUTHORIZATION="Token nope")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert not AuditRecord.objects.filter(event="query/export-audit-log").exists()


def test_a_non_auditors_token_is_refused_the_audit_log_export(personas):
    _, token = tokens.issue(personas["bob"], "tests")
    response = Client().get(reverse("audit-log-export"), HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 403


def test_without_a_token_the_export_still_needs_a_session(personas):
    assert Client().get(reverse("audit-log-export")).status_code == 302
    assert client_for(personas["carol"]).get(reverse("audit-log-export")).status_code == 200
