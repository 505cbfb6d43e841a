"""The Audit log's filters people use all day: drop-downs from the catalogue and the events
Flex writes, login suggestions, quick ranges, 24-hour UTC times, the error column and an
hourly chart for a day or less."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from audit import events
from rbac.actions import CATALOGUE
from tests.audit.test_views import client_for, isolate, listed_ids, make_records, persona_actor

ROOT = Path(__file__).resolve().parents[2]
APPS = ("approvals", "audit", "datapolicy", "flex", "rbac", "topics")


@pytest.fixture(autouse=True)
def isolated(settings) -> None:
    isolate(settings)


def options(body: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}">(.*?)</select>', body, re.S)
    assert select, f"no drop-down {name}"
    return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))


def test_every_event_flex_writes_is_registered():
    """Read the source for event names: one added without registering it fails here."""
    written = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            written |= set(re.findall(r'"((?:mutation|query)/[a-z-]+)"', path.read_text()))
    written -= {"mutation/request", "query/request"}  # record types, not events
    assert written - set(events.known()) == set()
    assert {"auth/login", "auth/logout", "auth/login-refused"} <= set(events.known())


def test_type_event_and_action_are_drop_downs(personas):
    body = client_for(personas["carol"]).get(reverse("audit-log")).content.decode()
    assert options(body, "type")[1:] == list(events.TYPES)
    assert options(body, "event")[1:] == events.known()
    assert options(body, "action")[1:] == list(CATALOGUE)
    assert "mutation/create-topic" in options(body, "event")


def test_a_shared_link_with_an_event_not_listed_keeps_it_selected(personas):
    body = (
        client_for(personas["carol"])
        .get(reverse("audit-log"), {"event": "mutation/retired-event"})
        .content.decode()
    )
    assert "<option selected>mutation/retired-event</option>" in body


def test_the_login_field_suggests_every_login(personas):
    body = client_for(personas["carol"]).get(reverse("audit-log")).content.decode()
    datalist = re.search(r'<datalist id="audit-logins">(.*?)</datalist>', body, re.S).group(1)
    assert set(re.findall(r'value="([^"]+)"', datalist)) >= {"alice", "bob", "carol", "mallory"}


def test_the_user_log_offers_no_login_suggestions(personas):
    body = client_for(personas["bob"]).get(reverse("user-log")).content.decode()
    assert "audit-logins" not in body


@pytest.mark.parametrize(
    ("key", "inside", "outside"),
    [("1h", 50, 70), ("24h", 23 * 60, 25 * 60), ("7d", 2 * 24 * 60, 8 * 24 * 60)],
)
def test_a_quick_range_keeps_only_records_inside_it(personas, key, inside, outside):
    """Ages in minutes; 7 days is also the window (today and the 6 days before)."""
    bob = persona_actor(personas["bob"])
    now = timezone.now()
    kept = make_records(bob, 1, start=now - timedelta(minutes=inside))
    left = make_records(bob, 1, start=now - timedelta(minutes=outside))
    shown = listed_ids(client_for(personas["carol"]).get(reverse("audit-log"), {"range": key}))
    assert str(kept[0].id) in shown
    assert str(left[0].id) not in shown


def test_an_unknown_range_is_a_400_naming_it(personas):
    response = client_for(personas["carol"]).get(reverse("audit-log"), {"range": "1y"})
    assert response.status_code == 400
    assert "Range" in response.content.decode()


def test_the_quick_range_links_keep_the_other_filters(personas):
    body = (
        client_for(personas["carol"])
        .get(reverse("audit-log"), {"outcome": "denied", "range": "1h"})
        .content.decode()
    )
    assert 'href="?outcome=denied&amp;range=24h"' in body


def test_times_are_entered_and_shown_in_24_hour_utc(personas):
    make_records(persona_actor(personas["bob"]), 1, start=timezone.now() - timedelta(hours=3))
    body = client_for(personas["carol"]).get(reverse("audit-log")).content.decode()
    assert 'type="datetime-local"' not in body  # the browser's locale would make it 12-hour
    assert "From (UTC, 24-hour)" in body and "Time (UTC, 24-hour)" in body
    assert re.search(r">\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}</a>", body)
    response = client_for(personas["carol"]).get(
        reverse("audit-log"),
        {"since": (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")},
    )
    assert response.status_code == 200


def test_the_error_column_shows_why_a_record_failed(personas):
    make_records(persona_actor(personas["bob"]), 1, outcome="failed", error="topic 'x' exists <b>")
    body = client_for(personas["carol"]).get(reverse("audit-log")).content.decode()
    assert "<th>Error</th>" in body
    assert '<td class="error">topic &#x27;x&#x27; exists &lt;b&gt;</td>' in body
