"""The message browser's input, checked once for the page and the API: where a page starts
(a mode and its fields, or a cursor), how many, and the filters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC

from django.utils.dateparse import parse_datetime

from lib.errors import InvalidRequest
from topics.browse import BrowseQuery, Filters, compile_expression
from topics.checks import Checked, Problems, integer, text

MAX_READ = 500
READ_MODES = [
    ("latest", "Latest messages"),
    ("offset", "From a partition and offset"),
    ("timestamp", "From a time"),
]


def parse_timestamp(value: str) -> int | None:
    """Milliseconds since the epoch, or an ISO 8601 time (UTC unless it names a zone)."""
    value = value.strip()
    if re.fullmatch(r"\d{1,15}", value):
        return int(value)
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def check_read(data: Mapping, *, full: bool = False) -> Checked[BrowseQuery]:
    """A page of the message browser: where from (``mode`` and its fields, or a ``cursor``
    of an earlier page), how many, and the filters (``q``, ``key``, ``header``, ``expr``)."""
    problems = Problems()
    mode = data.get("mode") or "latest"
    if mode not in {m for m, _ in READ_MODES}:
        problems.add("mode", f"must be one of {', '.join(m for m, _ in READ_MODES)}")
    limit = integer(problems, data, "limit", default=50, low=1, high=MAX_READ)
    partition = integer(problems, data, "partition", default=None, low=0)
    offset = integer(problems, data, "offset", default=None, low=0)
    timestamp = None
    given_time = data.get("timestamp")
    if isinstance(given_time, str | int) and str(given_time).strip():
        timestamp = parse_timestamp(str(given_time))
        if timestamp is None:
            problems.add(
                "timestamp", "give a time as 2025-01-31T12:00 or as milliseconds since 1970"
            )
    filters = _filters(problems, data)
    cursor = _given_text(problems, data, "cursor", 4096) or None
    if not problems.fields and cursor is None:
        if mode == "offset" and (partition is None or offset is None):
            problems.add("", "reading from an offset needs a partition and an offset")
        if mode == "timestamp" and timestamp is None:
            problems.add("", "reading from a time needs the time")
    return problems.result(
        lambda: BrowseQuery(
            mode=mode,
            limit=limit,
            partition=partition,
            offset=offset,
            timestamp_ms=timestamp if mode == "timestamp" else None,
            filters=filters,
            cursor=cursor,
            full=full,
        )
    )


def _given_text(problems: Problems, data: Mapping, name: str, limit: int) -> str:
    value = data.get(name)
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        problems.add(name, "must be text")
        return ""
    if "\x00" in value:
        problems.add(name, "null characters are not allowed")
    elif len(value) > limit:
        problems.add(name, f"at most {limit} characters")
    return value


def _filters(problems: Problems, data: Mapping) -> Filters:
    q = _given_text(problems, data, "q", 1000)
    key = _given_text(problems, data, "key", 10_000)
    header = _given_text(problems, data, "header", 10_000)
    expression = _given_text(problems, data, "expr", 1000)
    compiled = None
    if expression:
        try:
            compiled = compile_expression(expression)
        except InvalidRequest as exc:
            problems.add("expr", exc.message.removeprefix("expr: "))
    named = None
    if header:
        name, sep, value = header.partition("=")
        named = (name, value.encode() if sep else None)
    return Filters(
        q=q.lower().encode() if q else None,
        key=key.encode() if key else None,
        header=named,
        expression=expression or None,
        compiled=compiled,
    )


READ_FIELDS = ("mode", "limit", "partition", "offset", "timestamp", "cursor")
FILTER_FIELDS = ("q", "key", "header", "expr")


def read_given(data: Mapping) -> dict:
    """The read as the user wrote it, for the record: where from, and the filters."""
    given = {key: text(data.get(key)) for key in READ_FIELDS}
    filters = {key: text(data.get(key)) for key in FILTER_FIELDS if text(data.get(key))}
    return {**given, "filters": filters}
