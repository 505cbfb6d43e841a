"""The log pages' activity chart: counts per day or hour by outcome, exact for any filters and
time bounds, kept between renders for every process, started again by a purge."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit import activity
from audit.models import AuditRecord
from tests.audit.conftest import act
from tests.audit.test_chain import seal_all
from tests.audit.test_views import client_for, isolate, make_records, persona_actor


@pytest.fixture(autouse=True)
def isolated(settings) -> None:
    isolate(settings)


def chart(response) -> dict[tuple[str, str], int]:
    """(day, outcome) -> count, read from the SVG's rect titles."""
    found = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+) (\w+)</title>", response.content.decode())
    return {(day, outcome): int(n) for day, n, outcome in found}


def test_the_chart_counts_each_day_of_the_window_by_outcome(personas, settings):
    settings.FLEX_AUDIT_VIEW_DAYS = 7
    bob = persona_actor(personas["bob"])
    today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    if today > timezone.now():
        today -= timedelta(days=1)
    day = today - timedelta(days=2)
    make_records(bob, 4, start=day)
    make_records(bob, 2, start=day, outcome="denied")
    make_records(bob, 3, start=today - timedelta(days=5), outcome="failed")
    make_records(bob, 5, start=today - timedelta(days=9))  # before the window

    response = client_for(personas["alice"]).get(reverse("audit-log"))

    counts = chart(response)
    assert counts == {
        (day.date().isoformat(), "succeeded"): 4,
        (day.date().isoformat(), "denied"): 2,
        ((today - timedelta(days=5)).date().isoformat(), "failed"): 3,
    }
    assert response.content.decode().count('class="axis">') == 7 + 1  # a label a day + the peak


def test_the_chart_follows_the_filters_and_new_records(personas):
    bob = persona_actor(personas["bob"])
    earlier = timezone.now() - timedelta(minutes=10)
    make_records(bob, 3, start=earlier)
    make_records(bob, 2, outcome="denied", start=earlier)
    alice = client_for(personas["alice"])

    before = chart(alice.get(reverse("audit-log"), {"outcome": "denied"}))
    late = make_records(bob, 1, outcome="denied", start=timezone.now() - timedelta(seconds=5))
    after = chart(alice.get(reverse("audit-log"), {"outcome": "denied"}))
    everything = chart(alice.get(reverse("audit-log")))

    day, late_day = earlier.date().isoformat(), late[0].ts.date().isoformat()
    assert before == {(day, "denied"): 2}
    assert sum(after.values()) == 3 and after[(late_day, "denied")] >= 1
    assert sum(everything.values()) == 6 and everything[(day, "succeeded")] == 3


def test_the_chart_counts_the_same_whether_cached_or_not(personas):
    bob = persona_actor(personas["bob"])
    make_records(bob, 7, start=timezone.now() - timedelta(days=1))
    alice = client_for(personas["alice"])

    cold = chart(alice.get(reverse("audit-log")))
    warm = chart(alice.get(reverse("audit-log")))

    assert cold == warm and sum(cold.values()) == 7


def test_the_chart_is_shared_by_every_process_through_redis(personas):
    from django.core.cache import caches

    make_records(persona_actor(personas["bob"]), 3, start=timezone.now() - timedelta(days=1))
    alice = client_for(personas["alice"])
    alice.get(reverse("audit-log"))
    client = caches["shared"]._cache.get_client()
    assert list(client.scan_iter(match=f"{caches['shared'].key_prefix}:*audit-chart:*"))


def test_the_chart_falls_back_to_process_memory_when_redis_is_down(personas, settings):
    make_records(persona_actor(personas["bob"]), 4, start=timezone.now() - timedelta(days=1))
    alice = client_for(personas["alice"])
    settings.CACHES = {
        **settings.CACHES,
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        },
    }
    cold = chart(alice.get(reverse("audit-log")))
    warm = chart(alice.get(reverse("audit-log")))
    assert cold == warm and sum(cold.values()) == 4


def chart_by(body: str) -> str:
    return re.search(r'<svg class="activity"[^>]* data-by="(\w+)"', body).group(1)


def test_a_day_or_less_is_charted_by_the_hour(personas):
    bob = persona_actor(personas["bob"])
    make_records(bob, 3, start=timezone.now() - timedelta(hours=2), step=timedelta(minutes=1))
    carol = client_for(personas["carol"])

    hourly = carol.get(reverse("audit-log"), {"range": "24h"}).content.decode()
    daily = carol.get(reverse("audit-log")).content.decode()

    assert (chart_by(hourly), chart_by(daily)) == ("hour", "day")
    counts = [int(n) for n in re.findall(r'data-outcome="succeeded" data-count="(\d+)"', hourly)]
    assert sum(counts) == 3
    assert len(re.findall(r'class="axis">\d{2}:00<', hourly)) in (24, 25)


def test_a_since_until_span_of_a_day_is_hourly_too(personas):
    now = timezone.now()
    params = {
        "since": (now - timedelta(hours=5)).strftime("%Y-%m-%d %H:%M"),
        "until": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
    }
    body = client_for(personas["carol"]).get(reverse("audit-log"), params).content.decode()
    assert chart_by(body) == "hour"


def by_hour(body: str) -> dict[tuple[str, str], int]:
    """(hour, outcome) -> count of an hourly chart."""
    found = re.findall(r"<title>(\d{4}-\d\d-\d\d \d\d):00 UTC: (\d+) (\w+)</title>", body)
    return {(hour, outcome): int(n) for hour, n, outcome in found}


def expected(since: datetime, until: datetime, key: str) -> dict[tuple[str, str], int]:
    """What the records table holds between the bounds, counted here by the test."""
    counts: dict[tuple[str, str], int] = {}
    for ts, outcome in AuditRecord.objects.filter(ts__gte=since, ts__lte=until).values_list(
        "ts", "outcome"
    ):
        slot = (ts.astimezone(UTC).strftime(key), outcome)
        counts[slot] = counts.get(slot, 0) + 1
    return counts


def test_bounds_inside_an_hour_count_exactly_what_they_cover(personas):
    """Since and until in the middle of hours: the cut hours count only their slice, cold
    and warm, and the hours between count whole."""
    bob = persona_actor(personas["bob"])
    now = timezone.now()
    make_records(bob, 40, start=now - timedelta(hours=9), step=timedelta(minutes=12))
    make_records(bob, 12, start=now - timedelta(hours=8, minutes=3), outcome="denied",
                 step=timedelta(minutes=25))  # fmt: skip
    since = (now - timedelta(hours=7)).replace(minute=17, second=0, microsecond=0)
    until = (now - timedelta(hours=2)).replace(minute=41, second=0, microsecond=0)
    params = {"since": f"{since:%Y-%m-%d %H:%M}", "until": f"{until:%Y-%m-%d %H:%M}"}
    carol = client_for(personas["carol"])

    cold = by_hour(carol.get(reverse("audit-log"), params).content.decode())
    warm = by_hour(carol.get(reverse("audit-log"), params).content.decode())
    whole = by_hour(carol.get(reverse("audit-log"), {"range": "24h"}).content.decode())

    assert cold == warm == expected(since, until + timedelta(seconds=59), "%Y-%m-%d %H")
    assert sum(cold.values()) < sum(whole.values()) == AuditRecord.objects.count()


def test_a_quick_range_counts_once_however_its_start_moves(personas):
    """ "Last 24 h" starts at a new moment each request; its counts are kept all the same:
    a record written into a settled hour behind the chart's back is not seen."""
    bob = persona_actor(personas["bob"])
    make_records(bob, 5, start=timezone.now() - timedelta(hours=5))
    carol = client_for(personas["carol"])
    day = {"range": "24h"}
    first = by_hour(carol.get(reverse("audit-log"), day).content.decode())
    make_records(bob, 2, start=timezone.now() - timedelta(hours=3))  # behind the chart's back
    second = by_hour(carol.get(reverse("audit-log"), day).content.decode())
    assert sum(first.values()) == sum(second.values()) == 5


def test_a_purge_starts_the_counts_again(personas, policies, monkeypatch):
    """Records the purge removed leave the chart at once (records settle at once here)."""
    monkeypatch.setattr(activity, "SETTLE", timedelta(0))
    act(5)
    seal_all()
    time.sleep(0.005)
    cutoff = timezone.now()
    time.sleep(0.005)  # record timestamps are whole milliseconds
    act(2)
    seal_all()
    carol = client_for(personas["carol"])
    topics = {"event": "mutation/create-topic"}
    before = chart(carol.get(reverse("audit-log"), topics))

    call_command("audit_purge", "--before", cutoff.isoformat(), stdout=io.StringIO())
    after = chart(carol.get(reverse("audit-log"), topics))

    assert (sum(before.values()), sum(after.values())) == (7, 2)


def test_beat_counts_the_unfiltered_chart_ahead_of_its_readers(personas):
    """``audit.warm_chart`` fills the very counts the Audit log reads: a record written
    behind the chart's back after the warm count is not seen, and the page counts nothing
    of the window again."""
    from audit.tasks import warm_chart

    bob = persona_actor(personas["bob"])
    make_records(bob, 4, start=timezone.now() - timedelta(days=1))
    assert warm_chart() == 4
    make_records(bob, 3, start=timezone.now() - timedelta(days=2))  # behind the chart's back
    shown = chart(client_for(personas["carol"]).get(reverse("audit-log")))
    assert sum(shown.values()) == 4
