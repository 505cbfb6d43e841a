"""The log pages' activity chart: records by outcome per hour (a day or less) or per day.

Counts are kept per hour and outcome for each scope and set of filters, the time bounds
aside, where every process finds them (Redis, the "shared" cache; this process's memory
when Redis fails). A render counts only the records written since the previous one, plus
the slice of an hour that the filters' bounds cut; so a quick range ("last 24 h"), whose
start moves with every request, costs no more than the plain page. Hours leave the counts
as the window moves on, and a purge, the one way records leave, starts them again.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.db.models import Case, Count, QuerySet, Value, When
from django.db.models.functions import TruncHour

from audit import queries
from audit.models import AuditRecord

HOURLY_UP_TO = timedelta(days=1)  # a range this short is charted by the hour
HOUR = timedelta(hours=1)
# Records are written with ts = now and committed within the gate's retries (about a
# second), so a record older than this will not appear any more: its count is kept. Every
# render counts the last SETTLE of records again: the shorter, the cheaper.
SETTLE = timedelta(seconds=15)
FALLBACK_SECONDS = 3600  # kept this long in one process's memory (a purge cannot reach it)
GENERATION = "audit-chart-generation"

Counts = dict[tuple[datetime, str], int]


@dataclass
class DayActivity:
    day: date
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def label(self) -> str:
        return self.day.strftime("%b %d")

    @property
    def key(self) -> str:
        return self.day.isoformat()


@dataclass
class HourActivity:
    hour: datetime
    counts: dict[str, int] = field(default_factory=dict)

    total = DayActivity.total

    @property
    def label(self) -> str:
        return self.hour.strftime("%H:00")

    @property
    def key(self) -> str:
        return self.hour.strftime("%Y-%m-%d %H:00 UTC")


def chart_for(scope: QuerySet, form: queries.FilterForm) -> list[DayActivity] | list[HourActivity]:
    """The chart of ``scope`` under ``form``'s filters: by the hour when they cover a day or
    less, else by the day over the window."""
    window = form.window
    since, until = queries.time_range(form)
    stable = queries.records_filtered(scope, form.cleaned_data).order_by()
    counts = _hours(stable, window)
    first, last = _floor(since), _floor(until)
    counts = {k: n for k, n in counts.items() if first <= k[0] <= last}
    # An hour the bounds cut is counted again within them: the first unless it starts at an
    # hour (the window does), the last unless the range runs to now.
    cut = {hour for hour, is_cut in ((first, since > first), (last, until < window.now)) if is_cut}
    for hour in cut:
        counts = {k: n for k, n in counts.items() if k[0] != hour}
        sliced = stable.filter(ts__gte=max(hour, since), ts__lt=hour + HOUR, ts__lte=until)
        for outcome, n in sliced.values_list("outcome").annotate(n=Count("id")):
            counts[(hour, outcome)] = n
    if until - since <= HOURLY_UP_TO:
        return _by_hour(first, until, counts)
    return _by_day(window, counts)


def warm() -> int:
    """Count the Audit log's unfiltered chart (beat's ``audit.warm_chart``), so no reader waits
    for its first count of the whole window; the records it counted."""
    window = queries.audit_window()
    form = queries.parse_filters({}, window=window)
    return sum(bar.total for bar in chart_for(AuditRecord.objects.all(), form))


def forget() -> None:
    """Start every chart's counts again (after records were deleted)."""
    _cache_set(GENERATION, uuid.uuid4().hex, None)


def _hours(stable: QuerySet, window: queries.Window) -> Counts:
    """Per hour and outcome, every record of ``stable`` from the window's start to now."""
    key = _key(stable)
    found = _cache_get_many([key, GENERATION])  # one round trip
    generation = found.get(GENERATION, "")
    cached = found.get(key)
    if not cached or cached.get("generation") != generation:
        cached = {"upto": window.start, "counts": {}}
    upto = max(cached["upto"], window.start)
    settled = {k: n for k, n in cached["counts"].items() if k[0] >= window.start}
    settled_before = max(window.now - SETTLE, upto)
    grouped = (
        stable.filter(ts__gte=upto)
        .annotate(
            hour=TruncHour("ts", tzinfo=UTC),
            settled=Case(When(ts__lt=settled_before, then=Value(True)), default=Value(False)),
        )
        .values_list("hour", "outcome", "settled")
        .annotate(n=Count("id"))
    )
    live: Counts = {}
    for hour, outcome, is_settled, n in grouped:
        into = settled if is_settled else live
        into[(hour, outcome)] = into.get((hour, outcome), 0) + n
    days = settings.FLEX_AUDIT_VIEW_DAYS + 1
    kept = {"generation": generation, "upto": settled_before, "counts": settled}
    _cache_set(key, kept, days * 86400)
    for k, n in live.items():
        settled[k] = settled.get(k, 0) + n
    return settled


def _by_hour(first: datetime, until: datetime, counts: Counts) -> list[HourActivity]:
    hours: dict[datetime, HourActivity] = {}
    moment = first
    while moment <= until:
        hours[moment] = HourActivity(moment)
        moment += HOUR
    for (hour, outcome), n in counts.items():
        if hour in hours:
            hours[hour].counts[outcome] = n
    return list(hours.values())


def _by_day(window: queries.Window, counts: Counts) -> list[DayActivity]:
    days = {day: DayActivity(day) for day in window.days}
    for (hour, outcome), n in counts.items():
        day = days.get(hour.date())
        if day is not None:
            day.counts[outcome] = day.counts.get(outcome, 0) + n
    return list(days.values())


def _floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _key(stable: QuerySet) -> str:
    sql, params = stable.query.sql_with_params()
    identity = f"{connection.settings_dict['NAME']}|{sql}|{params!r}"
    return "audit-chart:" + hashlib.sha256(identity.encode()).hexdigest()


def _cache_get_many(keys: list[str]) -> dict:
    try:
        return caches["shared"].get_many(keys)
    except Exception:
        return caches["default"].get_many(keys)


def _cache_set(key: str, value, seconds: int | None) -> None:
    try:
        caches["shared"].set(key, value, seconds)
    except Exception:
        caches["default"].set(key, value, FALLBACK_SECONDS)
