"""Reading the audit log: the window, the filters and keyset pages (the chart: ``activity``).

The Audit log, the User log, their CSV exports and the API all read through here, so
one set of filters means the same thing everywhere. A scope (all records, or one
user's) is a queryset chosen by the caller; filters only ever narrow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone

from audit.models import AuditRecord
from rbac.actions import CATALOGUE

PAGE_SIZE = 50
# Quick ranges, relative to the moment of the request (a shared link stays "the last hour").
RANGES = {
    "1h": ("last hour", timedelta(hours=1)),
    "24h": ("last 24 h", timedelta(hours=24)),
    "7d": ("last 7 days", timedelta(days=7)),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Columns a list row shows; the JSON document is read only on the record page.
LIST_COLUMNS = (
    "id",
    "ts",
    "login",
    "type",
    "event",
    "action",
    "outcome",
    "cluster_id",
    "resource_name",
)


@dataclass(frozen=True)
class Window:
    """The days the logs show: today (UTC) and the ``FLEX_AUDIT_VIEW_DAYS - 1`` days before."""

    start: datetime
    now: datetime
    days: tuple[date, ...]


def audit_window(now: datetime | None = None) -> Window:
    now = now or timezone.now()
    count = settings.FLEX_AUDIT_VIEW_DAYS
    first = now.astimezone(UTC).date() - timedelta(days=count - 1)
    days = tuple(first + timedelta(days=i) for i in range(count))
    return Window(start=datetime.combine(first, time.min, tzinfo=UTC), now=now, days=days)


class FilterForm(forms.Form):
    """The filters of the logs, read from the query string so a view can be shared."""

    user = forms.CharField(required=False, max_length=150, label="User (login)")
    type = forms.CharField(required=False, max_length=40)
    event = forms.CharField(required=False, max_length=80)
    action = forms.CharField(required=False, max_length=40)
    outcome = forms.ChoiceField(
        required=False, choices=[("", "any"), *AuditRecord.OUTCOMES], label="Outcome"
    )
    cluster = forms.CharField(required=False, max_length=100, label="Cluster id")
    resource = forms.CharField(required=False, max_length=300, label="Resource contains")
    since = forms.DateTimeField(required=False, label="From (UTC, 24-hour)")
    until = forms.DateTimeField(required=False, label="To (UTC, 24-hour)")
    range = forms.ChoiceField(
        required=False, choices=[("", "any"), *((key, label) for key, (label, _) in RANGES.items())]
    )
    after = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)

    FILTER_NAMES = ("user", "type", "event", "action", "outcome", "cluster", "resource", "range")

    def __init__(self, *args, window: Window, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.window = window

    def clean_action(self) -> str:
        action = self.cleaned_data["action"].upper()
        if action and action not in CATALOGUE:
            raise forms.ValidationError(f"Unknown action {action!r}.")
        return action

    def clean_after(self) -> tuple[datetime, str] | None:
        token = self.cleaned_data["after"]
        return decode_cursor(token) if token else None

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("“From” must be before “To”.")
        if until and until < self.window.start:
            raise forms.ValidationError(
                f"The time range must lie within the last {len(self.window.days)} days "
                f"(from {self.window.start:%Y-%m-%d} UTC)."
            )
        return data


def parse_filters(params, *, window: Window) -> FilterForm:
    """A bound, validated FilterForm; check ``form.is_valid()`` / ``form.errors``."""
    form = FilterForm(params, window=window)
    form.is_valid()
    return form


def active_filters(form: FilterForm) -> dict[str, str]:
    """The filters in effect, as strings (for links, the API echo and the export's record)."""
    out = {}
    for name in (*FilterForm.FILTER_NAMES, "since", "until"):
        value = form.cleaned_data.get(name)
        if value:
            out[name] = value.isoformat() if isinstance(value, datetime) else str(value)
    return out


def time_range(form: FilterForm) -> tuple[datetime, datetime]:
    """The span the filters cover: ``since``/``until`` and a quick range, clipped to the window."""
    data, window = form.cleaned_data, form.window
    since = max(data.get("since") or window.start, window.start)
    if data.get("range"):
        since = max(since, window.now - RANGES[data["range"]][1])
    return since, min(data.get("until") or window.now, window.now)


def records_matching(scope: QuerySet, form: FilterForm) -> QuerySet:
    """``scope`` narrowed to the window and the form's filters, newest first (no cursor)."""
    data = form.cleaned_data
    qs = records_filtered(scope, data).filter(ts__gte=time_range(form)[0])
    if data.get("until"):
        qs = qs.filter(ts__lte=data["until"])
    return qs.order_by("-ts", "-id")


def records_filtered(scope: QuerySet, data: dict) -> QuerySet:
    """``scope`` narrowed by the filters other than time (what the chart keeps counts of)."""
    exact = {
        "login": data.get("user"),
        "type": data.get("type"),
        "event": data.get("event"),
        "action": data.get("action"),
        "outcome": data.get("outcome"),
        "cluster_id": data.get("cluster"),
    }
    qs = scope.filter(**{column: value for column, value in exact.items() if value})
    if data.get("resource"):
        qs = qs.filter(resource_name__icontains=data["resource"])
    return qs


# Keyset pagination on (ts, id), newest first: a cursor names the last row shown.


def encode_cursor(record: AuditRecord) -> str:
    micros = (record.ts - EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{record.id.hex}"


def decode_cursor(token: str) -> tuple[datetime, str]:
    error = forms.ValidationError("This page link is not valid; start again from the first page.")
    micros, sep, hex_id = token.partition("-")
    if not sep or not micros.isdigit() or len(hex_id) != 32:
        raise error
    try:
        int(hex_id, 16)
        ts = EPOCH + timedelta(microseconds=int(micros))
    except (ValueError, OverflowError):
        raise error from None
    return ts, f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


def older_than(qs: QuerySet, cursor: tuple[datetime, str] | None) -> QuerySet:
    """Rows after the cursor in (ts desc, id desc) order.

    ``ts <= cursor`` is redundant with the OR but lets the planner bound the index scan.
    """
    if cursor is None:
        return qs
    ts, record_id = cursor
    return qs.filter(Q(ts__lte=ts) & (Q(ts__lt=ts) | Q(ts=ts, id__lt=record_id)))


@dataclass
class Page:
    rows: list[AuditRecord]
    next_cursor: str | None


def with_error(qs: QuerySet) -> QuerySet:
    """The list's rows carry the response's error (the one value of the document they show)."""
    return qs.annotate(error=KT("document__data__response__error"))


def page_of(
    qs: QuerySet,
    cursor: tuple[datetime, str] | None,
    *,
    size: int = PAGE_SIZE,
    columns: tuple[str, ...] | None = LIST_COLUMNS,
) -> Page:
    """One page of ``qs`` after ``cursor``; one query (one row more tells if there is a next).

    ``columns`` limits what is read (the list pages leave the JSON document out).
    """
    qs = older_than(qs, cursor)
    if columns:
        qs = qs.only(*columns)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else None)
