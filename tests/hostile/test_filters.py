"""SQL metacharacters (and worse) in the Audit log filters, the audit API's query parameters,
the CSV export and the topic search.

A filter value is data, never SQL: ``' OR 1=1 --`` matches nothing, ``%``, ``_`` and ``\\``
match only resources that contain them literally, and a value a filter cannot take is a
400 with the form's error, never a 500.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from audit.gate import Ctx, record_event
from audit.models import AuditRecord
from rbac.roles import actor_for_user
from tests.hostile.support import XSS_SCRIPT, assert_escaped, body_text

RESOURCES = ("tx-events", "50%off", "a_b", "back\\slash", "quote'd", "plain")

# filter -> value -> the resources (of RESOURCES) that must come back; None: refused (400).
CASES = {
    "user-sql-or": ("user", "' OR 1=1 --", []),
    "user-percent": ("user", "%", []),
    "user-underscore": ("user", "_", []),
    "user-backslash": ("user", "\\", []),
    "user-comment": ("user", "alice' --", []),
    "user-nul": ("user", "ali\x00ce", None),
    "user-too-long": ("user", "a" * 1000, None),
    "resource-percent": ("resource", "%", ["50%off"]),
    "resource-underscore": ("resource", "_", ["a_b"]),
    "resource-backslash": ("resource", "\\", ["back\\slash"]),
    "resource-quote": ("resource", "'", ["quote'd"]),
    "resource-sql-or": ("resource", "' OR 1=1 --", []),
    "resource-double-percent": ("resource", "%%", []),
    "resource-like-escape": ("resource", "%' OR '1'='1", []),
    "resource-script": ("resource", XSS_SCRIPT, []),
    "resource-drop": ("resource", "'; DROP TABLE audit_auditrecord; --", []),
    "event-sql-or": ("event", "' OR 1=1 --", []),
    "type-percent": ("type", "%", []),
    "cluster-sql-or": ("cluster", "' OR 1=1 --", []),
    "action-sql-or": ("action", "' OR 1=1 --", None),
    "outcome-sql-or": ("outcome", "' OR 1=1 --", None),
    "since-sql": ("since", "' OR 1=1 --", None),
    "until-sql": ("until", "1) OR (1=1", None),
    "after-sql": ("after", "' OR 1=1 --", None),
    "after-forged": ("after", "1-" + "g" * 32, None),
    "after-overflow": ("after", "9" * 30 + "-" + "0" * 32, None),
}


@pytest.fixture
def audit_log(client, personas, db):
    """alice (admin) signed in; one record per resource in RESOURCES, by alice and bob."""
    ctx = Ctx(client_ip="127.0.0.1", user_agent="pytest", via="ui", cluster_id="flex-test")
    for i, name in enumerate(RESOURCES):
        user = personas["alice" if i % 2 else "bob"]
        record_event(
            actor=actor_for_user(user),
            type="mutation/request",
            event="mutation/create-topic",
            request={"topic-name": name},
            ctx=ctx,
            action="TOPIC_CREATE",
            resource=["cluster", "flex-test", "topic", name],
        )
    client.force_login(personas["alice"])
    return client


def _ids():
    return CASES.keys()


@pytest.mark.parametrize(("field", "value", "expected"), CASES.values(), ids=_ids())
def test_the_audit_log_page_takes_a_hostile_filter_as_data(audit_log, field, value, expected):
    before = AuditRecord.objects.count()
    response = audit_log.get(reverse("audit-log"), {field: value})
    assert response.status_code == (400 if expected is None else 200)
    if expected is not None:
        assert sorted(row["resource"] for row in response.context["rows"]) == sorted(expected)
    assert AuditRecord.objects.count() == before == len(RESOURCES)  # the table is intact
    page = body_text(response)
    assert_escaped(page, XSS_SCRIPT, shown=value == XSS_SCRIPT)


@pytest.mark.parametrize(("field", "value", "expected"), CASES.values(), ids=_ids())
def test_the_audit_api_takes_a_hostile_filter_as_data(audit_log, field, value, expected):
    response = audit_log.get("/api/audit/", {field: value})
    if expected is None:
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_filter"
        return
    assert response.status_code == 200
    found = sorted(r["resource_name"] for r in response.json()["results"])
    assert found == sorted(expected)


@pytest.mark.parametrize(("field", "value", "expected"), CASES.values(), ids=_ids())
def test_the_csv_export_takes_a_hostile_filter_as_data(audit_log, field, value, expected):
    response = audit_log.get(reverse("audit-log-export"), {field: value})
    if expected is None:
        assert response.status_code == 400
        return
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(body_text(response))))
    # A resource that starts like a formula would be quoted; none of these does.
    assert sorted(row["resource"] for row in rows) == sorted(expected)


USER_LOG_CASES = {k: CASES[k] for k in ("resource-percent", "resource-sql-or", "after-sql")}


@pytest.mark.parametrize(
    ("field", "value", "expected"), USER_LOG_CASES.values(), ids=USER_LOG_CASES
)
def test_the_user_log_takes_a_hostile_filter_as_data(audit_log, field, value, expected):
    response = audit_log.get(reverse("user-log"), {field: value})
    assert response.status_code == (400 if expected is None else 200)
    if expected is not None:
        mine = [r for r in expected if RESOURCES.index(r) % 2]  # alice's records only
        assert sorted(row["resource"] for row in response.context["rows"]) == sorted(mine)


def test_the_audit_api_refuses_a_hostile_limit_and_mine(audit_log):
    for params in ({"limit": "1 OR 1=1"}, {"limit": "-1"}, {"limit": "9" * 50}, {"mine": "'"}):
        response = audit_log.get("/api/audit/", params)
        assert response.status_code == 400, params


@pytest.mark.parametrize("record_id", ["' OR 1=1 --", "%", "..%2F..", "0" * 32 + "'"])
def test_the_audit_api_answers_404_for_a_hostile_record_id(audit_log, record_id):
    assert audit_log.get(f"/api/audit/{record_id}/").status_code == 404


SEARCHES = {"percent": "%", "underscore": "_", "backslash": "\\", "sql-or": "' OR 1=1 --"}


@pytest.mark.parametrize("query", SEARCHES.values(), ids=SEARCHES.keys())
def test_the_topic_search_matches_metacharacters_literally(bob, cluster, planted, suffix, query):
    literal = planted(f"lit-{suffix}-{query}")  # Tansu takes names Flex would refuse
    plain = planted(f"plain-{suffix}")
    page = bob.get(reverse("topic-list", kwargs={"cluster": cluster.key}), {"q": query})
    assert page.status_code == 200
    names = [t.name for t in page.context["found"].rows]
    assert literal in names
    assert plain not in names
    assert all(query.lower() in name.lower() for name in names)
    api = bob.get(f"/api/clusters/{cluster.key}/topics", {"q": query})
    assert api.status_code == 200
    assert literal in [t["name"] for t in api.json()]
    assert all(query.lower() in t["name"].lower() for t in api.json())


ADMIN_SEARCHES = {"nul": "\x00", "sql-or": "' OR 1=1 --", "percent": "%", "script": XSS_SCRIPT}


@pytest.mark.parametrize("query", ADMIN_SEARCHES.values(), ids=ADMIN_SEARCHES.keys())
def test_every_admin_list_takes_a_hostile_search_as_text(client, personas, query):
    from django.contrib import admin

    alice = personas["alice"]
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = client.get(url, {"q": query})
        assert response.status_code < 500, url
        assert_escaped(body_text(response), XSS_SCRIPT, shown=False)
