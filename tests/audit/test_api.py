"""The audit API: who may list and read records, the filters, cursor pages and JSON errors."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.gate import Ctx, record_event
from flex import tokens
from tests.audit.test_views import (
    client_for,
    isolate,
    make_records,
    persona_actor,
    records_of_everyone,
)

LIST = "/api/audit/"


@pytest.fixture(autouse=True)
def isolated(settings) -> None:
    isolate(settings)


@pytest.fixture
def world(personas) -> dict:
    return records_of_everyone(personas)


def detail(record_id) -> str:
    return f"/api/audit/{record_id}/"


def ids_of(response) -> list[str]:
    return [item["id"] for item in response.json()["results"]]


def everyone(world) -> set[str]:
    return {str(r.id) for records in world.values() for r in records}


def test_the_api_urls_are_the_documented_ones():
    assert reverse("api-audit-list") == LIST
    assert reverse("api-audit-record", args=["x"]) == detail("x")


@pytest.mark.parametrize("name", ["alice", "carol"])
def test_admins_and_auditors_list_every_record(personas, world, name):
    response = client_for(personas[name]).get(LIST)

    assert response.status_code == 200
    assert set(ids_of(response)) == everyone(world)
    item = response.json()["results"][0]
    assert set(item) >= {"id", "ts", "type", "event", "outcome", "login", "document"}
    assert item["document"]["data"]["user"]["login"] == item["login"]


@pytest.mark.parametrize("name", ["bob", "mallory"])
def test_the_list_is_forbidden_to_members_and_outsiders(personas, world, name):
    response = client_for(personas[name]).get(LIST, {"user": name})

    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "permission_denied" and "mine=1" in body["detail"]
    assert not any(str(r.id) in response.content.decode() for rs in world.values() for r in rs)


@pytest.mark.parametrize("name", ["alice", "bob", "carol", "mallory"])
def test_mine_lists_only_the_users_own_records(personas, world, name):
    response = client_for(personas[name]).get(LIST, {"mine": "1"})

    assert response.status_code == 200
    assert ids_of(response) == [str(r.id) for r in world[name]]


@pytest.mark.parametrize(
    "params", [{"user": "alice"}, {"resource": "alice"}, {"after": ""}, {"limit": "200"}]
)
def test_no_filter_widens_mine(personas, world, params):
    response = client_for(personas["bob"]).get(LIST, {"mine": "1", **params})

    assert set(ids_of(response)) <= {str(r.id) for r in world["bob"]}


@pytest.mark.parametrize("reader", ["alice", "carol"])
def test_admins_and_auditors_read_any_record(personas, world, reader):
    target = world["bob"][0]

    response = client_for(personas[reader]).get(detail(target.id))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(target.id) and body["login"] == "bob"
    assert "delivery" in body and "chain" in body


@pytest.mark.parametrize("reader", ["bob", "mallory"])
def test_a_record_of_someone_else_is_not_found_for_members_and_outsiders(personas, world, reader):
    own = client_for(personas[reader]).get(detail(world[reader][0].id))
    other = client_for(personas[reader]).get(detail(world["alice"][0].id))
    missing = client_for(personas[reader]).get(detail(uuid.uuid4()))

    assert own.status_code == 200 and own.json()["login"] == reader
    assert other.status_code == 404 and missing.status_code == 404
    assert (
        other.json() == missing.json() == {"error": "not_found", "detail": "No such audit record."}
    )


@pytest.mark.parametrize("record_id", ["not-a-uuid", "1 OR 1=1", "%27", "0" * 40])
def test_a_malformed_id_is_not_found(personas, record_id):
    response = client_for(personas["alice"]).get(f"/api/audit/{record_id}/")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_anonymous_callers_get_a_json_refusal(db):
    response = APIClient().get(LIST)

    assert response.status_code in (401, 403)
    assert response.json()["error"] == "not_authenticated"


def test_a_token_authenticates_an_auditor(personas, world):
    _, token = tokens.issue(personas["carol"], "tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.get(LIST)

    assert response.status_code == 200 and set(ids_of(response)) == everyone(world)


def test_filters_work_as_on_the_page(personas):
    bob = persona_actor(personas["bob"])
    denied = make_records(bob, 2, outcome="denied", resource="payments")
    make_records(bob, 3)

    response = client_for(personas["carol"]).get(
        LIST, {"outcome": "denied", "resource": "PAY", "user": "bob"}
    )

    assert ids_of(response) == [str(r.id) for r in denied]
    assert response.json()["filters"] == {"user": "bob", "outcome": "denied", "resource": "PAY"}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"action": "DROP TABLE"}, "action"),
        ({"since": "yesterday"}, "since"),
        ({"after": "abc"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"mine": "perhaps"}, "mine"),
    ],
)
def test_invalid_filters_answer_400_with_the_field_named(personas, params, field):
    response = client_for(personas["alice"]).get(LIST, params)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_filter"
    assert field in body["detail"]


def test_cursor_pages_are_stable_while_records_are_written(personas):
    bob = persona_actor(personas["bob"])
    original = make_records(bob, 45)
    client = client_for(personas["alice"])

    seen, url, writes = [], LIST + "?limit=20", 0
    while url:
        response = client.get(url)
        seen += ids_of(response)
        url = response.json()["next"]
        make_records(bob, 5, start=timezone.now() + timedelta(seconds=writes))
        record_event(
            actor=bob, type="query/request", event="query/list-topics", request={}, ctx=Ctx()
        )
        writes += 1

    assert seen == [str(r.id) for r in original]
    assert writes == 3


def test_the_next_link_keeps_the_filters(personas):
    make_records(persona_actor(personas["bob"]), 3, outcome="denied")

    response = client_for(personas["alice"]).get(LIST, {"outcome": "denied", "limit": "2"})

    link = response.json()["next"]
    assert "outcome=denied" in link and "limit=2" in link and "after=" in link
    rest = client_for(personas["alice"]).get(link)
    assert len(ids_of(rest)) == 1 and rest.json()["next"] is None
