"""Settings › Audit log and User log: access, filters, keyset pages, the chart, the record page.

The helpers at the top (``make_records``, ``persona_actor``…) are shared with
test_export.py and test_api.py.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit import gate
from audit.gate import Ctx
from audit.models import AuditRecord, uuid7
from rbac import engine
from rbac.models import Policy
from rbac.roles import Actor, actor_for_user

CLUSTER = "Enpl9Kw4QK6pwK0LaRVssQ"

# --- shared helpers -----------------------------------------------------------------------


def isolate(settings) -> None:
    """Each test module's autouse setup: the personas' passwords are never checked here
    (force_login), so skip the slow hasher; and the chart keeps counts between renders,
    which rolled-back tests must not share."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


@pytest.fixture(autouse=True)
def isolated(settings) -> None:
    isolate(settings)


def persona_actor(user) -> Actor:
    return actor_for_user(user)


def document(
    actor: Actor,
    *,
    record_id: uuid.UUID,
    ts: datetime,
    type: str,
    event: str,
    action: str,
    outcome: str,
    cluster: str,
    resource: str,
    error: str | None,
    request: dict | None,
    client_ip: str,
) -> dict:
    """A record document as the gate writes it (DESIGN.md's shape)."""
    data: dict = {
        "user": actor.as_record(),
        "event": [event, request if request is not None else {"topic-name": resource}],
    }
    if type == "mutation/request":
        data["rbac"] = {
            "success?": outcome != "denied",
            "action": action,
            "policies": [
                {"resource": ["cluster", "*"], "role": "*", "effect": "Allow", "actions": [action]}
            ],
        }
    data["response"] = {"status": outcome, "error": error}
    return {
        "id": str(record_id),
        "ts": int(ts.timestamp() * 1000),
        "type": type,
        "data": data,
        "ctx": {"cluster-id": cluster, "via": "ui", "client-ip": client_ip, "user-agent": "pytest"},
    }


def make_records(
    actor: Actor,
    n: int = 1,
    *,
    start: datetime | None = None,
    step: timedelta = timedelta(seconds=-1),
    type: str = "mutation/request",
    event: str = "mutation/create-topic",
    action: str = "TOPIC_CREATE",
    outcome: str = "succeeded",
    cluster: str = CLUSTER,
    resource: str = "tx-events",
    error: str | None = None,
    request: dict | None = None,
    client_ip: str = "10.0.0.1",
) -> list[AuditRecord]:
    """``n`` realistic records of ``actor``, the first at ``start`` (default: a minute ago),
    each ``step`` after the previous one; bulk-inserted (the store refuses UPDATE, not INSERT)."""
    start = start or timezone.now() - timedelta(minutes=1)
    records = []
    for i in range(n):
        ts = (start + step * i).replace(microsecond=(start + step * i).microsecond // 1000 * 1000)
        record_id = uuid7()
        records.append(
            AuditRecord(
                id=record_id,
                ts=ts,
                flex_user_id=actor.flex_id,
                user_pk=actor.user_pk,
                login=actor.login,
                type=type,
                event=event,
                action=action,
                outcome=outcome,
                cluster_id=cluster,
                resource_name=resource,
                document=document(
                    actor,
                    record_id=record_id,
                    ts=ts,
                    type=type,
                    event=event,
                    action=action,
                    outcome=outcome,
                    cluster=cluster,
                    resource=resource,
                    error=error,
                    request=request,
                    client_ip=client_ip,
                ),
            )
        )
    return AuditRecord.objects.bulk_create(records)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed_ids(response) -> list[str]:
    """Record ids in a list page, in the order shown."""
    return re.findall(
        r'<tr class="record"><td><a href="/settings/[a-z-]+/([0-9a-f-]{36})/"',
        response.content.decode(),
    )


def next_link(response) -> str | None:
    match = re.search(r'<a rel="next" href="([^"]+)"', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


def ids(records) -> list[str]:
    return [str(r.id) for r in records]


def records_of_everyone(personas) -> dict[str, list[AuditRecord]]:
    """Three records of each persona, a second apart."""
    return {
        name: make_records(persona_actor(user), 3, resource=f"{name}-topic")
        for name, user in personas.items()
    }


@pytest.fixture
def world(personas) -> dict:
    return records_of_everyone(personas)


# --- access -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "carol"])
def test_the_audit_log_shows_everyones_records_to_admins_and_auditors(personas, world, name):
    response = client_for(personas[name]).get(reverse("audit-log"))

    assert response.status_code == 200
    assert set(listed_ids(response)) == {str(r.id) for rs in world.values() for r in rs}


@pytest.mark.parametrize("name", ["bob", "mallory"])
@pytest.mark.parametrize("url_name", ["audit-log", "audit-log-export"])
def test_the_audit_log_and_its_export_are_forbidden_to_members_and_outsiders(
    personas, world, name, url_name
):
    response = client_for(personas[name]).get(reverse(url_name))

    assert response.status_code == 403
    body = response.content.decode()
    assert "Not allowed" in body
    assert "alice-topic" not in body and str(world["alice"][0].id) not in body
    assert not AuditRecord.objects.filter(event="query/export-audit-log").exists()


@pytest.mark.parametrize("name", ["bob", "mallory"])
def test_an_audit_record_page_is_forbidden_to_members_and_outsiders(personas, world, name):
    target = world["alice"][0]

    response = client_for(personas[name]).get(reverse("audit-record", args=[target.id]))

    assert response.status_code == 403
    assert "alice-topic" not in response.content.decode()


@pytest.mark.parametrize(
    "url_name", ["audit-log", "audit-log-export", "user-log", "user-log-export"]
)
def test_anonymous_visitors_are_sent_to_sign_in(db, url_name):
    response = Client().get(reverse(url_name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["alice", "bob", "carol", "mallory"])
def test_the_user_log_shows_only_the_users_own_records(personas, world, name):
    response = client_for(personas[name]).get(reverse("user-log"))

    assert response.status_code == 200
    assert listed_ids(response) == ids(world[name])
    others = [r for other, rs in world.items() if other != name for r in rs]
    body = response.content.decode()
    assert not any(str(r.id) in body for r in others)


LEAKY_PARAMS = [
    {"user": "alice"},
    {"user": "alice", "after": ""},
    {"flex_user_id": "x", "login": "alice", "scope": "all", "mine": "0"},
    {"resource": "alice"},
    {"resource": "%"},
    {"cluster": CLUSTER},
    {"since": "2000-01-01", "until": "2999-01-01"},
]


@pytest.mark.parametrize("params", LEAKY_PARAMS)
def test_no_filter_shows_a_member_anyone_elses_records_in_the_user_log(personas, world, params):
    bob = client_for(personas["bob"])

    page = bob.get(reverse("user-log"), params)
    export = bob.get(reverse("user-log-export"), params)

    shown = set(listed_ids(page))
    exported = b"".join(export.streaming_content).decode() if export.status_code == 200 else ""
    assert shown <= set(ids(world["bob"]))
    for other in ("alice", "carol", "mallory"):
        for record in world[other]:
            assert str(record.id) not in exported
            assert str(record.id) not in page.content.decode()


def test_a_cursor_built_from_someone_elses_record_pages_only_through_own_records(personas, world):
    """The cursor is a position, not an id to open: it cannot pull in the record it names."""
    alice_newest = world["alice"][0]
    micros = (alice_newest.ts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    cursor = f"{micros + 1}-{alice_newest.id.hex}"

    response = client_for(personas["bob"]).get(reverse("user-log"), {"after": cursor})

    assert response.status_code == 200
    assert set(listed_ids(response)) <= set(ids(world["bob"]))


def test_a_user_record_page_answers_404_for_someone_elses_record(personas, world):
    bob = client_for(personas["bob"])

    own = bob.get(reverse("user-record", args=[world["bob"][0].id]))
    other = bob.get(reverse("user-record", args=[world["alice"][0].id]))
    missing = bob.get(reverse("user-record", args=[uuid.uuid4()]))

    assert own.status_code == 200
    assert other.status_code == 404 and missing.status_code == 404
    assert "alice-topic" not in other.content.decode()


def test_an_admin_reads_anyones_record_on_the_audit_log_but_only_own_on_the_user_log(
    personas, world
):
    alice = client_for(personas["alice"])
    bobs = world["bob"][0]

    assert alice.get(reverse("audit-record", args=[bobs.id])).status_code == 200
    assert alice.get(reverse("user-record", args=[bobs.id])).status_code == 404


def test_the_settings_menu_lists_the_audit_log_only_for_those_who_may_open_it(personas):
    carol_page = client_for(personas["carol"]).get(reverse("user-log")).content.decode()
    bob_page = client_for(personas["bob"]).get(reverse("user-log")).content.decode()

    assert f'href="{reverse("audit-log")}"' in carol_page
    assert f'href="{reverse("audit-log")}"' not in bob_page
    assert f'href="{reverse("user-log")}"' in bob_page


# --- filters ------------------------------------------------------------------------------


@pytest.fixture
def variety(personas) -> dict:
    alice, bob = persona_actor(personas["alice"]), persona_actor(personas["bob"])
    return {
        "create": make_records(alice, 1, resource="tx-events"),
        "delete_denied": make_records(
            bob,
            1,
            event="mutation/delete-topic",
            action="TOPIC_DELETE",
            outcome="denied",
            resource="payments-ledger",
        ),
        "edit_failed": make_records(
            bob,
            1,
            event="mutation/edit-topic",
            action="TOPIC_EDIT",
            outcome="failed",
            error="not supported",
            cluster="other-cluster",
            resource="TX-archive",
        ),
        "inspect": make_records(
            alice,
            1,
            type="query/request",
            event="query/inspect-topic",
            action="TOPIC_INSPECT",
            resource="orders",
        ),
        "sign_in": make_records(
            bob, 1, type="auth/request", event="auth/sign-in", action="", resource=""
        ),
    }


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"user": "bob"}, {"delete_denied", "edit_failed", "sign_in"}),
        ({"type": "query/request"}, {"inspect"}),
        ({"event": "mutation/delete-topic"}, {"delete_denied"}),
        ({"action": "TOPIC_EDIT"}, {"edit_failed"}),
        ({"action": "topic_edit"}, {"edit_failed"}),
        ({"outcome": "denied"}, {"delete_denied"}),
        ({"outcome": "failed"}, {"edit_failed"}),
        ({"cluster": "other-cluster"}, {"edit_failed"}),
        ({"resource": "tx-"}, {"create", "edit_failed"}),
        ({"user": "bob", "outcome": "succeeded"}, {"sign_in"}),
        ({"user": "nobody"}, set()),
    ],
)
def test_each_filter_narrows_the_audit_log(personas, variety, params, expected):
    response = client_for(personas["carol"]).get(reverse("audit-log"), params)

    assert response.status_code == 200
    assert set(listed_ids(response)) == {str(variety[k][0].id) for k in expected}


def test_the_time_range_narrows_inside_the_window(personas):
    bob = persona_actor(personas["bob"])
    now = timezone.now()
    old = make_records(bob, 1, start=now - timedelta(days=3))
    recent = make_records(bob, 1, start=now - timedelta(hours=1))
    fmt = "%Y-%m-%dT%H:%M"
    carol = client_for(personas["carol"])

    since = carol.get(reverse("audit-log"), {"since": (now - timedelta(days=1)).strftime(fmt)})
    until = carol.get(reverse("audit-log"), {"until": (now - timedelta(days=2)).strftime(fmt)})
    early = carol.get(reverse("audit-log"), {"since": "2000-01-01"})

    assert listed_ids(since) == ids(recent)
    assert listed_ids(until) == ids(old)
    assert listed_ids(early) == ids(recent) + ids(old)


def test_records_before_the_window_are_not_shown(personas, settings):
    settings.FLEX_AUDIT_VIEW_DAYS = 7
    bob = persona_actor(personas["bob"])
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    inside = make_records(bob, 1, start=today - timedelta(days=6) + timedelta(seconds=1))
    make_records(bob, 1, start=today - timedelta(days=6) - timedelta(seconds=1))

    response = client_for(personas["alice"]).get(reverse("audit-log"))

    assert listed_ids(response) == ids(inside)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"outcome": "maybe"}, "Select a valid choice"),
        ({"action": "TOPIC_NUKE"}, "Unknown action"),
        ({"since": "yesterday"}, "Enter a valid date/time"),
        ({"since": "2026-13-45"}, "Enter a valid date/time"),
        ({"since": "2030-01-02", "until": "2030-01-01"}, "must be before"),
        ({"until": "2001-01-01"}, "must lie within the last"),
        ({"after": "not-a-cursor"}, "page link is not valid"),
        ({"after": "99999999999999999999-" + "0" * 32}, "page link is not valid"),
        ({"resource": "x" * 301}, "at most 300"),
        ({"user": "bad\x00login"}, "Null characters are not allowed"),
    ],
)
def test_invalid_filters_give_a_clear_message_not_an_error(personas, world, params, message):
    response = client_for(personas["alice"]).get(reverse("audit-log"), params)

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert listed_ids(response) == []


@pytest.mark.parametrize(
    "text",
    ["'; DROP TABLE audit_auditrecord; --", "%", "_", "\\", '" OR 1=1 --', "tx%_\\'"],
)
def test_sql_metacharacters_in_filters_are_plain_text(personas, text):
    bob = persona_actor(personas["bob"])
    literal = make_records(bob, 1, resource=f"odd{text}name")
    make_records(bob, 2, resource="plain-name")
    carol = client_for(personas["carol"])

    by_resource = carol.get(reverse("audit-log"), {"resource": text})
    by_user = carol.get(reverse("audit-log"), {"user": text, "event": text})

    assert by_resource.status_code == 200 and by_user.status_code == 200
    assert listed_ids(by_resource) == ids(literal)
    assert listed_ids(by_user) == []
    assert AuditRecord.objects.count() == 3


def test_the_filters_stay_in_the_links_to_share_page_and_export(personas):
    make_records(persona_actor(personas["bob"]), 60, outcome="denied")

    response = client_for(personas["alice"]).get(
        reverse("audit-log"), {"outcome": "denied", "resource": "tx ev".replace(" ", "-")}
    )

    body = response.content.decode()
    assert "outcome=denied&amp;resource=tx-ev&amp;after=" in body
    assert f'{reverse("audit-log-export")}?outcome=denied&amp;resource=tx-ev"' in body
    assert "<option selected>denied</option>" in body
    assert 'name="resource" value="tx-ev"' in body


# --- keyset pages -------------------------------------------------------------------------


def walk(client: Client, url: str, params: dict | None = None, between=None) -> list[list[str]]:
    """Every page from ``url`` following the 'Older' links; ``between(i)`` runs before page i+1."""
    pages = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200
        pages.append(listed_ids(response))
        link = next_link(response)
        if not link:
            return pages
        if between:
            between(len(pages))
        response = client.get(url + link)


def test_pages_hold_50_records_newest_first(personas):
    records = make_records(persona_actor(personas["bob"]), 120)

    pages = walk(client_for(personas["alice"]), reverse("audit-log"))

    assert [len(p) for p in pages] == [50, 50, 20]
    assert [i for p in pages for i in p] == ids(records)


def test_paging_neither_repeats_nor_skips_while_records_are_written(personas):
    bob = persona_actor(personas["bob"])
    original = make_records(bob, 130)

    def write_newer(page_number: int) -> None:
        make_records(bob, 40, start=timezone.now() + timedelta(seconds=page_number))
        gate.record_event(
            actor=bob,
            type="query/request",
            event="query/list-topics",
            request={},
            ctx=Ctx(client_ip="10.0.0.9"),
        )

    pages = walk(client_for(personas["alice"]), reverse("audit-log"), between=write_newer)

    seen = [i for p in pages[1:] for i in p]
    first = pages[0]
    assert len(first) == 50
    assert first + seen == ids(original)
    assert len(set(first + seen)) == len(first + seen)


def test_records_sharing_a_timestamp_are_paged_by_id_without_loss(personas):
    moment = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    records = make_records(persona_actor(personas["bob"]), 75, start=moment, step=timedelta(0))

    pages = walk(client_for(personas["alice"]), reverse("audit-log"))

    flat = [i for p in pages for i in p]
    assert sorted(flat) == sorted(ids(records))
    assert flat == sorted(flat, reverse=True)


def test_pages_are_read_with_a_keyset_not_an_offset(personas):
    make_records(persona_actor(personas["bob"]), 60)
    client = client_for(personas["alice"])
    first = client.get(reverse("audit-log"))

    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("audit-log") + next_link(first))

    page_sql = [
        q["sql"] for q in queries if "audit_auditrecord" in q["sql"] and "LIMIT" in q["sql"]
    ]
    assert page_sql and all("OFFSET" not in sql for sql in page_sql)


def test_the_list_page_runs_the_same_queries_whatever_the_size(personas, django_assert_num_queries):
    carol = client_for(personas["carol"])
    make_records(persona_actor(personas["bob"]), 3)
    carol.get(reverse("audit-log"))  # session and caches settle

    # 7: session, user, roles…, the page, the chart, and the logins the user field suggests
    # (the access settings come from the policy cache).
    with django_assert_num_queries(7):
        small = carol.get(reverse("audit-log"), {"outcome": "succeeded"})
    make_records(persona_actor(personas["bob"]), 200)
    with django_assert_num_queries(7):
        large = carol.get(reverse("audit-log"), {"outcome": "succeeded"})

    assert len(listed_ids(small)) == 3 and len(listed_ids(large)) == 50


# --- the record page ----------------------------------------------------------------------


def test_the_record_page_shows_user_request_response_decision_and_context(personas):
    Policy.objects.create(
        resource=["cluster", "*"], effect="Allow", actions=["TOPIC_CREATE"], roles=["platform"]
    )
    engine.invalidate()
    bob = persona_actor(personas["bob"])
    operation = gate.Operation(
        event="mutation/create-topic",
        action="TOPIC_CREATE",
        resource=["cluster", CLUSTER, "topic", "tx-events"],
        request={"topic-name": "tx-events", "partitions": "3"},
        execute=lambda: None,
    )
    outcome = gate.perform(
        bob,
        operation,
        Ctx(client_ip="192.0.2.7", user_agent="Firefox/140", via="api", cluster_id=CLUSTER),
    )

    response = client_for(personas["carol"]).get(reverse("audit-record", args=[outcome.record.id]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "&quot;login&quot;: &quot;bob&quot;" in body
    assert "&quot;topic-name&quot;: &quot;tx-events&quot;" in body
    assert "allowed" in body and "1 matching policy" in body
    assert "&quot;role&quot;: &quot;platform&quot;" in body
    assert "192.0.2.7" in body and "Firefox/140" in body and "<td>api</td>" in body
    assert re.search(
        r'<h2>Delivery</h2>\s*(<p class="muted" id="delivery">not available|<table)', body
    )
    assert re.search(
        r"<h2>Chain</h2>\s*(<p class=\"muted\" id=\"chain\">not available|<table)", body
    )


def test_the_record_page_escapes_what_users_typed(personas):
    payload = "<script>alert('x')</script>"
    record = make_records(
        persona_actor(personas["bob"]),
        1,
        resource=payload,
        request={"topic-name": payload, "config-items": {"x": "</pre><img src=x onerror=1>"}},
        error=payload,
    )[0]

    body = (
        client_for(personas["bob"]).get(reverse("user-record", args=[record.id])).content.decode()
    )

    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body


def test_the_list_escapes_what_users_typed(personas):
    make_records(persona_actor(personas["bob"]), 1, resource="<b onmouseover=x>t</b>")

    body = client_for(personas["alice"]).get(reverse("audit-log")).content.decode()

    assert "<b onmouseover" not in body and "&lt;b onmouseover=x&gt;t&lt;/b&gt;" in body


def test_a_record_of_an_event_says_it_has_no_rbac_decision(personas):
    record = make_records(
        persona_actor(personas["bob"]), 1, type="auth/request", event="auth/sign-in", action=""
    )[0]

    body = (
        client_for(personas["bob"]).get(reverse("user-record", args=[record.id])).content.decode()
    )

    assert "No RBAC decision" in body


# --- the user log's access section --------------------------------------------------------


def test_the_user_log_lists_the_users_roles_and_the_policies_that_apply(personas):
    def policy(roles, actions, enabled=True):
        return Policy.objects.create(
            resource=["cluster", "*"], effect="Allow", actions=actions, roles=roles, enabled=enabled
        )

    policy(["platform"], ["TOPIC_CREATE"])
    policy(["*"], ["TOPIC_INSPECT"])
    policy(["admins"], ["TOPIC_DELETE"])
    policy(["platform"], ["TOPIC_TRUNCATE"], enabled=False)

    body = client_for(personas["bob"]).get(reverse("user-log")).content.decode()

    assert (
        '<code class="role">member</code>' in body and '<code class="role">platform</code>' in body
    )
    shown = re.findall(r'<tr class="policy">\s*<td>\w+</td>\s*<td>([^<]+)</td>', body)
    assert shown == ["TOPIC_CREATE", "TOPIC_INSPECT"]
