"""Forms for the topic pages, and the checks the API's serializers share with them.

Validation errors carry a code (``invalid_config``, ``too_large``, else
``invalid_request``); ``form_failure`` turns a form's errors into the OperationError
the gate records, so refused input is audited like any other failure.
"""

from __future__ import annotations

import re
from datetime import UTC

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils.dateparse import parse_datetime

from audit.gate import OperationError
from topics import kafka
from topics.configs import config_problem

TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
MAX_PARTITIONS = 10_000
MAX_READ = 500
READ_MODES = [
    ("latest", "Latest messages"),
    ("offset", "From a partition and offset"),
    ("timestamp", "From a time"),
]
INVALID_CONFIG, TOO_LARGE, INVALID_REQUEST = "invalid_config", "too_large", "invalid_request"
_FAILURES: dict[str, type[OperationError]] = {
    INVALID_CONFIG: kafka.InvalidConfig,
    TOO_LARGE: kafka.TooLarge,
}


def topic_name_problem(name: str) -> str | None:
    """Why ``name`` is not a legal Kafka topic name, or None."""
    if name in (".", ".."):
        return "a topic may not be named '.' or '..'"
    if not TOPIC_NAME.fullmatch(name):
        return "a topic name is 1 to 249 characters of letters, digits, '.', '_' and '-'"
    return None


def parse_config_lines(text: str) -> dict[str, str]:
    """``key=value`` lines (blank lines ignored) as a dict; unknown keys and bad values refused."""
    items: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            problems.append(f"line {number}: write key=value")
            continue
        items[key] = value
    problems += config_problems(items)
    if problems:
        raise ValidationError("; ".join(problems), code=INVALID_CONFIG)
    return items


def config_problems(items: dict[str, str | None]) -> list[str]:
    return [p for key, value in items.items() if (p := config_problem(key, value))]


def parse_keys(text: str) -> list[str]:
    keys = [key for key in re.split(r"[\s,]+", text) if key]
    problems = config_problems(dict.fromkeys(keys))
    if problems:
        raise ValidationError("; ".join(problems), code=INVALID_CONFIG)
    return keys


def parse_headers(text: str) -> list[tuple[str, bytes]]:
    """``name: value`` lines as Kafka headers (UTF-8 values)."""
    headers = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ValidationError(f"header line {number}: write name: value")
        headers.append((name.strip(), value.strip().encode()))
    return headers


def check_size(key: bytes | None, value: bytes | None, headers: list) -> None:
    size = kafka.message_size(key, value, headers)
    limit = settings.FLEX_PRODUCE_MAX_BYTES
    if size > limit:
        raise ValidationError(
            f"the message is {size} bytes; at most {limit} bytes may be produced",
            code=TOO_LARGE,
        )


def parse_timestamp(text: str) -> int:
    """Milliseconds since the epoch, or an ISO 8601 time (UTC unless it names a zone)."""
    text = text.strip()
    if re.fullmatch(r"\d{1,15}", text):
        return int(text)
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationError("give a time as 2025-01-31T12:00 or as milliseconds since 1970")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def read_query(data: dict) -> kafka.ReadQuery:
    """A ReadQuery from validated fields: offset mode needs a partition and an offset."""
    mode = data.get("mode") or "latest"
    if mode == "offset" and (data.get("partition") is None or data.get("offset") is None):
        raise ValidationError("reading from an offset needs a partition and an offset")
    if mode == "timestamp" and data.get("timestamp") is None:
        raise ValidationError("reading from a time needs the time")
    return kafka.ReadQuery(
        mode=mode,
        limit=data.get("limit") or 50,
        partition=data.get("partition"),
        offset=data.get("offset"),
        timestamp_ms=data.get("timestamp"),
    )


def failure_from_errors(errors: dict[str, list[ValidationError]]) -> OperationError | None:
    """One OperationError for a set of field errors; the most specific code wins."""
    if not errors:
        return None
    codes = {error.code for field_errors in errors.values() for error in field_errors}
    code = next((c for c in (TOO_LARGE, INVALID_CONFIG) if c in codes), INVALID_REQUEST)
    parts = []
    for field, field_errors in errors.items():
        text = " ".join(message for error in field_errors for message in error.messages)
        parts.append(text if field == "__all__" else f"{field}: {text}")
    return _FAILURES.get(code, kafka.InvalidRequest)("; ".join(parts))


def config_items(form: forms.Form, field: str) -> dict[str, str]:
    """The config items a form was given, for the record even when they did not validate."""
    value = raw(form, field)
    if isinstance(value, dict):
        return value
    items = {}
    for line in str(value or "").splitlines():
        key, sep, item = line.partition("=")
        if sep and key.strip():
            items[key.strip()] = item.strip()
    return items


def config_keys(form: forms.Form, field: str) -> list[str]:
    value = raw(form, field)
    if isinstance(value, list):
        return value
    return [key for key in re.split(r"[\s,]+", str(value or "")) if key]


def form_failure(form: forms.Form) -> OperationError | None:
    return None if form.is_valid() else failure_from_errors(form.errors.as_data())


def raw(form: forms.Form, field: str) -> object:
    """The cleaned value when the field validated, else what the user typed."""
    if form.is_valid() or field in getattr(form, "cleaned_data", {}):
        return form.cleaned_data.get(field)
    return form.data.get(field, "")


class TopicCreateForm(forms.Form):
    name = forms.CharField(max_length=300, strip=True)
    partitions = forms.IntegerField(min_value=1, max_value=MAX_PARTITIONS, initial=1)
    replication_factor = forms.IntegerField(min_value=1, initial=1)
    configs = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "retention.ms=604800000"}),
        help_text="One key=value per line, e.g. cleanup.policy=compact",
    )

    def __init__(self, *args, brokers: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.brokers = brokers
        if brokers:
            field = self.fields["replication_factor"]
            field.validators.append(
                MaxValueValidator(
                    brokers, f"at most {brokers}: the cluster has {brokers} broker(s)"
                )
            )
            field.widget.attrs["max"] = brokers
            field.help_text = f"1 to {brokers} (brokers)"

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        problem = topic_name_problem(name)
        if problem:
            raise ValidationError(problem)
        return name

    def clean_configs(self) -> dict[str, str]:
        return parse_config_lines(self.cleaned_data.get("configs") or "")


class ConfigEditForm(forms.Form):
    set = forms.CharField(
        required=False,
        strip=False,
        label="Set",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "retention.ms=86400000"}),
        help_text="One key=value per line",
    )
    reset = forms.CharField(
        required=False,
        label="Reset to default",
        help_text="Config names, separated by spaces or commas",
    )

    def clean_set(self) -> dict[str, str]:
        return parse_config_lines(self.cleaned_data.get("set") or "")

    def clean_reset(self) -> list[str]:
        return parse_keys(self.cleaned_data.get("reset") or "")

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and not data.get("set") and not data.get("reset"):
            raise ValidationError("nothing to change: set or reset at least one config")
        both = set(data.get("set") or {}) & set(data.get("reset") or [])
        if both:
            raise ValidationError(f"both set and reset: {', '.join(sorted(both))}")
        return data


class ProduceForm(forms.Form):
    key = forms.CharField(required=False, strip=False, max_length=None)
    value = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 8}))
    headers = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "trace-id: abc123"}),
        help_text="One name: value per line",
    )
    partition = forms.IntegerField(
        required=False, min_value=0, help_text="Leave empty to let Kafka choose"
    )

    def clean_headers(self) -> list[tuple[str, bytes]]:
        return parse_headers(self.cleaned_data.get("headers") or "")

    def clean(self) -> dict:
        data = super().clean()
        if "headers" in data:
            check_size(self.key_bytes(), self.value_bytes(), data["headers"])
        return data

    def key_bytes(self) -> bytes | None:
        key = self.data.get("key", "")
        return key.encode() if key else None

    def value_bytes(self) -> bytes:
        return self.data.get("value", "").encode()

    def header_list(self) -> list[tuple[str, bytes]]:
        if self.is_valid():
            return self.cleaned_data["headers"]
        try:
            return parse_headers(self.data.get("headers", ""))
        except ValidationError:
            return []


class ReadForm(forms.Form):
    mode = forms.ChoiceField(choices=READ_MODES, initial="latest")
    limit = forms.IntegerField(min_value=1, max_value=MAX_READ, initial=50, label="Messages")
    partition = forms.IntegerField(required=False, min_value=0)
    offset = forms.IntegerField(required=False, min_value=0)
    timestamp = forms.CharField(
        required=False,
        label="From time",
        help_text="2025-01-31T12:00 (UTC) or milliseconds since 1970",
    )

    def clean_timestamp(self) -> int | None:
        text = self.cleaned_data.get("timestamp") or ""
        return parse_timestamp(text) if text.strip() else None

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            self.query = read_query(data)
        return data


class ConfirmNameForm(forms.Form):
    """The user types the topic's name to confirm a destructive action."""

    confirm = forms.CharField(label="Type the topic's name to confirm", required=False)

    def __init__(self, *args, topic: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.topic = topic

    def clean_confirm(self) -> str:
        typed = self.cleaned_data.get("confirm", "")
        if typed != self.topic:
            raise ValidationError(f"type {self.topic!r} exactly to confirm")
        return typed
