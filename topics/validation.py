"""Topic input, checked once for the pages and the API.

Each ``check_*`` takes what a client sent (a form's POST data or an API's JSON body: the
same field names, text or JSON values) and returns a ``Checked``: the typed input when it
is valid, what was given (for the audit record either way) and an ``InputError`` naming
every bad field. The operation builders in ``topics/operations.py`` take the result, so
refused input still becomes an operation the gate decides and records.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings

from lib.errors import InvalidConfig, TooLarge
from topics.checks import Checked, Problems, integer, text  # noqa: F401  (Checked: re-exported)
from topics.configs import config_problem
from topics.kafka import message_size
from topics.read_checks import (  # noqa: F401  (re-exported: pages and the API check here)
    MAX_READ,
    READ_MODES,
    check_read,
    parse_timestamp,
    read_given,
)

TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
MAX_PARTITIONS = 10_000
ENCODINGS = ("utf-8", "base64")


@dataclass(frozen=True)
class NewTopic:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


@dataclass(frozen=True)
class TopicListQuery:
    """Which topics a list shows: search, internal ones or not, sorted, one page of them."""

    query: str = ""
    internal: bool = False
    sort: str = "name"
    descending: bool = False
    page: int = 1
    per_page: int = 50

    def as_params(self, **changes: object) -> dict[str, str]:
        """This list's query string with ``changes`` (``sort``, ``page``…); defaults left out."""
        values = {**vars(self), **changes}
        sort = ("-" if values["descending"] else "") + str(values["sort"])
        params = {
            "q": values["query"],
            "internal": "1" if values["internal"] else "",
            "sort": "" if sort == "name" else sort,
            "page": "" if values["page"] == 1 else str(values["page"]),
            "per_page": "" if values["per_page"] == 50 else str(values["per_page"]),
        }
        return {key: value for key, value in params.items() if value}


@dataclass(frozen=True)
class ConfigChange:
    set_items: dict[str, str]
    reset_keys: list[str]


@dataclass(frozen=True)
class NewMessage:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    partition: int | None


def page_text(problems: Problems, data: Mapping, fields: tuple[str, ...]) -> None:
    """A page's fields are text; NUL is refused in any of them, as Django's fields do."""
    for name in fields:
        if "\x00" in str(data.get(name) or ""):
            problems.add(name, "null characters are not allowed")


def topic_name_problem(name: str) -> str | None:
    """Why ``name`` is not a legal Kafka topic name, or None."""
    if name in (".", ".."):
        return "a topic may not be named '.' or '..'"
    if not TOPIC_NAME.fullmatch(name):
        return "a topic name is 1 to 249 characters of letters, digits, '.', '_' and '-'"
    return None


def topic_name(problems: Problems, data: Mapping, field: str) -> str:
    """The required topic name in ``field``, stripped; "" (with the problem noted) if absent."""
    name = data.get(field)
    if not isinstance(name, str) or not name.strip():
        problems.add(field, "this field is required")
        return ""
    name = name.strip()
    problem = topic_name_problem(name)
    if problem:
        problems.add(field, problem)
    return name


def _config_items(problems: Problems, name: str, value: object, page: bool) -> dict[str, str]:
    """``key=value`` lines (a page) or an object of strings (the API), keys checked."""
    items: dict[str, str] = {}
    if page:
        for number, line in enumerate(str(value or "").splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, item = line.partition("=")
            if not sep or not key.strip():
                problems.add(name, f"line {number}: write key=value", InvalidConfig)
                continue
            items[key.strip()] = item.strip()
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(item, str):
                problems.add(name, f"{key}: the value must be a string")
            else:
                items[str(key)] = item
    elif value is not None:
        problems.add(name, "must be an object of config names to values")
    if any("\x00" in key or "\x00" in item for key, item in items.items()):
        problems.add(name, "null characters are not allowed")
        return {}
    _config_problems(problems, name, items)
    return items


def _config_keys(problems: Problems, name: str, value: object, page: bool) -> list[str]:
    """Config names separated by spaces or commas (a page) or a list (the API), checked."""
    if page:
        keys = [key for key in re.split(r"[\s,]+", str(value or "")) if key]
    elif isinstance(value, list) and all(isinstance(key, str) for key in value):
        keys = list(value)
    elif value is None:
        keys = []
    else:
        problems.add(name, "must be a list of config names")
        return []
    _config_problems(problems, name, dict.fromkeys(keys))
    return keys


def _config_problems(problems: Problems, name: str, items: Mapping[str, str | None]) -> None:
    for key, value in items.items():
        problem = config_problem(key, value)
        if problem:
            problems.add(name, problem, InvalidConfig)


def check_create(data: Mapping, *, page: bool = False) -> Checked[NewTopic]:
    problems = Problems()
    if page:
        page_text(problems, data, ("name", "configs"))
    name = topic_name(problems, data, "name")
    partitions = integer(problems, data, "partitions", default=1, low=1, high=MAX_PARTITIONS)
    replication = integer(problems, data, "replication_factor", default=1, low=1)
    configs = _config_items(problems, "configs", data.get("configs"), page)
    return problems.result(lambda: NewTopic(name, partitions, replication, configs))


TOPIC_SORTS = ("name", "partitions", "messages", "size")
MAX_PER_PAGE = 500


def check_topic_list(data: Mapping) -> Checked[TopicListQuery]:
    """``q``, ``internal``, ``sort`` (a column; ``-column`` descending), ``page``, ``per_page``."""
    problems = Problems()
    query = str(data.get("q") or "").strip()
    if "\x00" in query:
        problems.add("q", "null characters are not allowed")
    sort = str(data.get("sort") or "name")
    descending = sort.startswith("-")
    if sort.lstrip("-") not in TOPIC_SORTS:
        problems.add(
            "sort", f"must be one of {', '.join(TOPIC_SORTS)} (a leading - for descending)"
        )
    page = integer(problems, data, "page", default=1, low=1, high=1_000_000)
    per_page = integer(problems, data, "per_page", default=50, low=1, high=MAX_PER_PAGE)
    internal = str(data.get("internal", "")).lower() in ("1", "true")
    return problems.result(
        lambda: TopicListQuery(query, internal, sort.lstrip("-"), descending, page, per_page)
    )


def create_given(data: Mapping) -> dict:
    """The create request as the record shows it when the input did not validate."""
    configs = data.get("configs")
    return {
        "topic-name": text(data.get("name")) or "",
        "replication-factor": text(data.get("replication_factor")),
        "partitions": text(data.get("partitions")),
        "config-items": _config_items(Problems(), "", configs, isinstance(configs, str)),
    }


def check_config_change(data: Mapping, *, page: bool = False) -> Checked[ConfigChange]:
    problems = Problems()
    if page:
        page_text(problems, data, ("set", "reset"))
    set_items = _config_items(problems, "set", data.get("set"), page)
    reset_keys = _config_keys(problems, "reset", data.get("reset"), page)
    if not problems.fields:
        if not set_items and not reset_keys:
            problems.add("", "nothing to change: set or reset at least one config")
        both = set(set_items) & set(reset_keys)
        if both:
            problems.add("", f"both set and reset: {', '.join(sorted(both))}")
    return problems.result(lambda: ConfigChange(set_items, reset_keys))


def config_change_given(data: Mapping) -> ConfigChange:
    """What a refused change named, for the record."""
    items, keys = data.get("set"), data.get("reset")
    return ConfigChange(
        _config_items(Problems(), "", items, isinstance(items, str)),
        _config_keys(Problems(), "", keys, isinstance(keys, str)),
    )


def _headers(problems: Problems, value: object, page: bool) -> list[tuple[str, bytes | None]]:
    """``name: value`` lines (a page) or an object of strings (the API), as UTF-8 headers."""
    headers: list[tuple[str, bytes | None]] = []
    if page:
        for number, line in enumerate(str(value or "").splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, item = line.partition(":")
            if not sep or not name.strip():
                problems.add("headers", f"header line {number}: write name: value")
                continue
            headers.append((name.strip(), _utf8(problems, "headers", item.strip())))
    elif isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(item, str):
                problems.add("headers", f"{name}: the value must be a string")
                continue
            # A name may hold any text Kafka carries (NUL included): it is checked, kept as str.
            _utf8(problems, "headers", str(name), nul=True)
            headers.append((str(name), _utf8(problems, "headers", item)))
    elif value is not None:
        problems.add("headers", "must be an object of header names to values")
    return headers


def _utf8(problems: Problems, name: str, value: str, *, nul: bool = False) -> bytes | None:
    """Text as UTF-8. NUL is refused (as Django's fields refuse it: binary goes as base64)
    unless ``nul``; lone surrogates cannot be encoded at all."""
    if "\x00" in value and not nul:
        problems.add(name, "null characters are not allowed (send binary data as base64)")
        return None
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        problems.add(name, "is not valid Unicode text (a lone surrogate)")
        return None


def _bytes(problems: Problems, data: Mapping, name: str, encoding: str) -> bytes | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(name, "must be a string or null")
        return None
    if encoding == "base64":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            problems.add(name, "not valid base64")
            return None
    return _utf8(problems, name, value)


def check_message(data: Mapping, *, page: bool = False) -> Checked[NewMessage]:
    """A message to produce; a page sends an empty key field for no key, and text only."""
    problems = Problems()
    if page:
        page_text(problems, data, ("key", "value", "headers", "partition"))
    encoding = data.get("encoding", "utf-8")
    if encoding not in ENCODINGS:
        problems.add("encoding", f"must be one of {', '.join(ENCODINGS)}")
        encoding = "utf-8"
    key = _bytes(problems, data, "key", encoding)
    if page and key == b"":
        key = None
    value = _bytes(problems, data, "value", encoding)
    headers = _headers(problems, data.get("headers"), page)
    partition = integer(problems, data, "partition", default=None, low=0)
    if not problems.fields:
        size, limit = message_size(key, value, headers), settings.FLEX_PRODUCE_MAX_BYTES
        if size > limit:
            problems.add(
                "", f"the message is {size} bytes; at most {limit} bytes may be produced", TooLarge
            )
    return problems.result(lambda: NewMessage(key, value, headers, partition))


TEMPLATE_MAX_CHARS = 8192
TEMPLATE_KEYS = ("key", "value", "headers", "partition")


def check_template(given: str) -> Checked[dict[str, str]]:
    """A JSON template of a message — ``{"key", "value", "headers": {name: value},
    "partition"}``, a value that is not a string written as JSON — as the produce form's
    fields. The form is only filled: what is produced is checked when it is sent."""
    problems = Problems()
    template = None
    if len(given) > TEMPLATE_MAX_CHARS:
        problems.add("template", f"at most {TEMPLATE_MAX_CHARS} characters")
    else:
        try:
            template = json.loads(given)
        except ValueError as exc:
            problems.add("template", f"not valid JSON: {exc}")
    if template is not None and not isinstance(template, dict):
        problems.add("template", "must be a JSON object")
    elif template is not None:
        unknown = sorted(set(template) - set(TEMPLATE_KEYS))
        if unknown:
            problems.add(
                "template", f"unknown fields {', '.join(unknown)}; use {', '.join(TEMPLATE_KEYS)}"
            )
        headers = template.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            problems.add("template", "headers must be an object of names to strings")
    return problems.result(lambda: _template_fields(template))


def _template_fields(template: dict) -> dict[str, str]:
    def shown(value: object) -> str:
        if value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)

    headers = template.get("headers") or {}
    return {
        "key": shown(template.get("key")),
        "value": shown(template.get("value")),
        "headers": "\n".join(f"{name}: {value}" for name, value in headers.items()),
        "partition": shown(template.get("partition")),
    }


def message_given(data: Mapping) -> NewMessage:
    """What a refused message carried, for the record (as size and hash, never the bytes)."""
    given = data.get("headers")
    headers = _headers(Problems(), given, page=isinstance(given, str))
    return NewMessage(_given_bytes(data.get("key")), _given_bytes(data.get("value")), headers, None)


def _given_bytes(value: object) -> bytes | None:
    if value is None:
        return None
    return str(value).encode("utf-8", "surrogatepass")


def check_confirm(data: Mapping, topic: str) -> Checked[str]:
    """A destructive action needs the topic's name typed exactly."""
    problems = Problems()
    if data.get("confirm") != topic:
        problems.add("confirm", f"type {topic!r} exactly to confirm")
    return problems.result(lambda: topic)
