"""Consumer-group input, checked once for the pages and the API (as ``topics/validation.py``).

A reset is ``{"topic", "partitions" (optional: all), "to", "value", "dry_run"}``: the API
sends JSON values, a page text (partitions as ``0, 1``, a time as ISO 8601 or
milliseconds). ``dry_run`` defaults to true: only ``false`` moves anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from topics.checks import Checked, Problems, integer, text
from topics.kafka import RESET_MODES, ResetSpec
from topics.validation import page_text, parse_timestamp, topic_name

RESET_FIELDS = ("topic", "partitions", "to", "value", "dry_run")
INT64 = 2**63 - 1  # what Kafka's offsets and timestamps hold
_TRUE, _FALSE = ("1", "true", "on", "yes"), ("0", "false", "off", "no")


@dataclass(frozen=True)
class Reset:
    spec: ResetSpec
    dry_run: bool


def group_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a consumer group id here (Kafka allows nearly any text)."""
    if not name:
        return "a group id is needed"
    if "\x00" in name:
        return "null characters are not allowed in a group id"
    return None


def _group(problems: Problems, name: str) -> None:
    problem = group_name_problem(name)
    if problem:
        problems.add("group", problem)


def _partitions(problems: Problems, value: object, page: bool) -> tuple[int, ...] | None:
    """Partition numbers: ``0, 1`` (a page) or a list (the API); none given means all."""
    if value is None or value == "" or value == []:
        return None
    if page and isinstance(value, str):
        items: list = [item for item in re.split(r"[\s,]+", value) if item]
        if not all(item.isdigit() for item in items):
            problems.add("partitions", "write partition numbers separated by commas")
            return None
        items = [int(item) for item in items]
    elif isinstance(value, list) and all(type(item) is int for item in value):
        items = value
    else:
        problems.add("partitions", "must be a list of partition numbers")
        return None
    if any(not 0 <= item <= INT64 for item in items):
        problems.add("partitions", "partition numbers are 0 or more")
        return None
    return tuple(sorted(set(items)))


def dry_run_given(data: Mapping) -> bool:
    """Whether the input asks for a dry run: anything but an explicit false does."""
    return data.get("dry_run", True) not in (False, *_FALSE)


def _dry_run(problems: Problems, data: Mapping, page: bool) -> bool:
    value = data.get("dry_run", True)
    if isinstance(value, bool):
        return value
    if page and isinstance(value, str) and value.lower() in (*_TRUE, *_FALSE):
        return value.lower() in _TRUE
    problems.add("dry_run", "must be true or false")
    return True


def _value(problems: Problems, data: Mapping, to: str, page: bool) -> int | None:
    """The offset, time (ms) or shift a mode needs; earliest and latest need none."""
    if to in ("earliest", "latest"):
        return None
    given = data.get("value")
    if given is None or given == "":
        problems.add("value", f"resetting to {to} needs a value")
        return None
    if to == "timestamp" and page and isinstance(given, str):
        moment = parse_timestamp(given)
        if moment is None or moment > INT64:
            problems.add("value", "give a time as 2025-01-31T12:00 or as milliseconds since 1970")
        return moment
    low = -INT64 if to == "shift" else 0
    return integer(problems, data, "value", default=None, low=low, high=INT64)


def check_reset(data: Mapping, *, group: str, page: bool = False) -> Checked[Reset]:
    problems = Problems()
    if page:
        page_text(problems, data, RESET_FIELDS)
    _group(problems, group)
    topic = topic_name(problems, data, "topic")
    to = data.get("to")
    if to not in RESET_MODES:
        problems.add("to", f"must be one of {', '.join(RESET_MODES)}")
        value = None
    else:
        value = _value(problems, data, to, page)
    partitions = _partitions(problems, data.get("partitions"), page)
    dry_run = _dry_run(problems, data, page)
    return problems.result(lambda: Reset(ResetSpec(topic, partitions, to, value), dry_run))


def reset_request(reset: Reset) -> dict:
    """The reset as its audit record shows it."""
    spec = reset.spec
    partitions = list(spec.partitions) if spec.partitions is not None else None
    return {
        "topic-name": spec.topic,
        "partitions": partitions,
        "to": spec.to,
        "value": spec.value,
        "dry-run": reset.dry_run,
    }


def reset_input(reset: Reset) -> dict:
    """The reset as the API takes it (what a Stage policy stores, to be checked again)."""
    spec = reset.spec
    data: dict = {"topic": spec.topic, "to": spec.to, "dry_run": reset.dry_run}
    if spec.partitions is not None:
        data["partitions"] = list(spec.partitions)
    if spec.value is not None:
        data["value"] = spec.value
    return data


def reset_given(data: Mapping) -> dict:
    """What a refused reset named, for the record (as text)."""
    return {
        "topic-name": text(data.get("topic")) or "",
        "partitions": text(data.get("partitions")),
        "to": text(data.get("to")),
        "value": text(data.get("value")),
        "dry-run": dry_run_given(data),
    }


def check_delete(data: Mapping, *, group: str, page: bool = False) -> Checked[str]:
    """A group id that can be deleted; a page also needs it typed exactly to confirm."""
    problems = Problems()
    _group(problems, group)
    if page and data.get("confirm") != group:
        problems.add("confirm", f"type {group!r} exactly to confirm")
    return problems.result(lambda: group)
