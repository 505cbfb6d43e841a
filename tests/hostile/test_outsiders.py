"""Unsafe requests from people who may not use Flex: mallory (signed in, outside
``authorized_roles``) and an anonymous client.

mallory's attempts reach Flex's views, so each must leave exactly one ``denied`` record
and change nothing. An anonymous request is turned away before any view (sign-in
redirect, or the API's 401/403): there is nobody to record and nothing changes.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from tests.hostile.support import latest_offsets, topic_names


@pytest.fixture
def victim(personas, grant, planted, suffix, cluster) -> dict:
    grant(roles=["*"])  # even a policy for everyone does not open Flex to outsiders
    return {"cluster": cluster, "topic": planted(), "new": f"outsider-{suffix}"}


def _form_cases(v: dict) -> dict[str, tuple[str, dict]]:
    topic = {"cluster": v["cluster"].key, "topic": v["topic"]}
    return {
        "create": (
            reverse("topic-create", kwargs={"cluster": v["cluster"].key}),
            {"name": v["new"], "partitions": "1", "replication_factor": "1"},
        ),
        "configs": (reverse("topic-configs", kwargs=topic), {"set": "retention.ms=1"}),
        "produce": (reverse("topic-produce", kwargs=topic), {"value": "x"}),
        "delete": (reverse("topic-delete", kwargs=topic), {"confirm": v["topic"]}),
        "truncate": (reverse("topic-truncate", kwargs=topic), {"confirm": v["topic"]}),
    }


def _api_cases(v: dict) -> dict[str, tuple[str, str, dict]]:
    base = f"/api/clusters/{v['cluster'].key}/topics"
    return {
        "create": ("post", base, {"name": v["new"]}),
        "configs": ("patch", f"{base}/{v['topic']}/configs", {"set": {"retention.ms": "1"}}),
        "produce": ("post", f"{base}/{v['topic']}/messages", {"value": "x"}),
        "delete": ("delete", f"{base}/{v['topic']}", {}),
        "truncate": ("post", f"{base}/{v['topic']}/truncate", {}),
    }


def _unchanged(v: dict, offsets) -> None:
    names = topic_names(v["cluster"])
    assert v["topic"] in names and v["new"] not in names
    assert latest_offsets(v["cluster"], v["topic"]) == offsets


FORMS = ["create", "configs", "produce", "delete", "truncate"]


@pytest.mark.parametrize("case", FORMS)
def test_an_outsiders_form_post_is_refused_recorded_and_changes_nothing(
    victim, personas, client, case
):
    client.force_login(personas["mallory"])
    url, data = _form_cases(victim)[case]
    offsets, before = (
        latest_offsets(victim["cluster"], victim["topic"]),
        AuditRecord.objects.count(),
    )
    response = client.post(url, data)
    assert response.status_code == 403
    _unchanged(victim, offsets)
    assert AuditRecord.objects.count() == before + 1
    assert AuditRecord.objects.latest("ts").outcome == "denied"


@pytest.mark.parametrize("case", FORMS)
def test_an_outsiders_api_call_is_refused_recorded_and_changes_nothing(
    victim, personas, client, case
):
    client.force_login(personas["mallory"])
    method, url, body = _api_cases(victim)[case]
    offsets, before = (
        latest_offsets(victim["cluster"], victim["topic"]),
        AuditRecord.objects.count(),
    )
    response = getattr(client, method)(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 403
    _unchanged(victim, offsets)
    assert AuditRecord.objects.count() == before + 1
    assert AuditRecord.objects.latest("ts").outcome == "denied"


@pytest.mark.parametrize("case", FORMS)
def test_an_anonymous_form_post_is_sent_to_sign_in_and_changes_nothing(victim, case):
    url, data = _form_cases(victim)[case]
    offsets, before = (
        latest_offsets(victim["cluster"], victim["topic"]),
        AuditRecord.objects.count(),
    )
    response = Client().post(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    _unchanged(victim, offsets)
    assert AuditRecord.objects.count() == before  # nobody signed in: nobody to record


@pytest.mark.parametrize("case", FORMS)
def test_an_anonymous_api_call_is_refused_and_changes_nothing(victim, case):
    method, url, body = _api_cases(victim)[case]
    offsets, before = (
        latest_offsets(victim["cluster"], victim["topic"]),
        AuditRecord.objects.count(),
    )
    response = getattr(Client(), method)(url, json.dumps(body), content_type="application/json")
    assert response.status_code in (401, 403)
    _unchanged(victim, offsets)
    assert AuditRecord.objects.count() == before
