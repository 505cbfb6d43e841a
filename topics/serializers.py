"""API input (validated with the same checks as the forms) and output shapes (for the schema)."""

from __future__ import annotations

import base64
import binascii

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from audit.gate import OperationError
from topics import forms, kafka


def _django_check(check, *args):
    """Run a forms check, re-raising its error for DRF with the same code."""
    try:
        return check(*args)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages, code=exc.code) from None


def _codes(detail) -> set[str]:
    if isinstance(detail, dict):
        return set().union(*(_codes(item) for item in detail.values()))
    if isinstance(detail, list):
        return set().union(*(_codes(item) for item in detail))
    return {getattr(detail, "code", forms.INVALID_REQUEST)}


def _messages(detail, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out = []
        for key, item in detail.items():
            label = "" if key == "non_field_errors" else f"{prefix}{key}"
            out += _messages(item, f"{label}." if label else "")
        return out
    if isinstance(detail, list):
        return [m for item in detail for m in _messages(item, prefix)]
    return [f"{prefix.rstrip('.')}: {detail}" if prefix else str(detail)]


def serializer_failure(serializer: serializers.Serializer) -> OperationError | None:
    """One OperationError for a serializer's errors; the most specific code wins."""
    if serializer.is_valid():
        return None
    codes = _codes(serializer.errors)
    message = "; ".join(_messages(serializer.errors))
    if forms.TOO_LARGE in codes:
        return kafka.TooLarge(message)
    if forms.INVALID_CONFIG in codes:
        return kafka.InvalidConfig(message)
    return kafka.InvalidRequest(message)


def given(serializer: serializers.Serializer, field: str, default=None):
    """The validated value when there is one, else what the client sent."""
    if serializer.is_valid() or field in getattr(serializer, "validated_data", {}):
        return serializer.validated_data.get(field, default)
    data = serializer.initial_data
    return data.get(field, default) if hasattr(data, "get") else default


class TopicCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=300)
    partitions = serializers.IntegerField(min_value=1, max_value=forms.MAX_PARTITIONS, default=1)
    replication_factor = serializers.IntegerField(min_value=1, default=1)
    configs = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
    )

    def validate_name(self, value: str) -> str:
        problem = forms.topic_name_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_configs(self, value: dict) -> dict:
        problems = forms.config_problems(value)
        if problems:
            raise serializers.ValidationError(problems, code=forms.INVALID_CONFIG)
        return value


class ConfigEditSerializer(serializers.Serializer):
    set = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
    )
    reset = serializers.ListField(child=serializers.CharField(), required=False, default=list)

    def validate(self, data: dict) -> dict:
        problems = forms.config_problems({**data["set"], **dict.fromkeys(data["reset"])})
        if problems:
            raise serializers.ValidationError(problems, code=forms.INVALID_CONFIG)
        if not data["set"] and not data["reset"]:
            raise serializers.ValidationError("nothing to change: give set and/or reset")
        both = set(data["set"]) & set(data["reset"])
        if both:
            raise serializers.ValidationError(f"both set and reset: {', '.join(sorted(both))}")
        return data


class ProduceSerializer(serializers.Serializer):
    key = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )
    value = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=dict,
    )
    partition = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    encoding = serializers.ChoiceField(
        choices=["utf-8", "base64"],
        default="utf-8",
        help_text="how key and value are written in this request",
    )

    def validate(self, data: dict) -> dict:
        data["key_bytes"] = self._decode(data.get("key"), data["encoding"], "key")
        data["value_bytes"] = self._decode(data.get("value"), data["encoding"], "value")
        data["header_list"] = [(name, text.encode()) for name, text in data["headers"].items()]
        _django_check(forms.check_size, data["key_bytes"], data["value_bytes"], data["header_list"])
        return data

    @staticmethod
    def _decode(text: str | None, encoding: str, field: str) -> bytes | None:
        if text is None:
            return None
        if encoding == "utf-8":
            return text.encode()
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError({field: "not valid base64"}) from None

    def raw_bytes(self, field: str) -> bytes | None:
        """Key or value bytes as sent, for the record even when the request is refused."""
        if self.is_valid():
            return self.validated_data[f"{field}_bytes"]
        text = self.initial_data.get(field) if hasattr(self.initial_data, "get") else None
        return str(text).encode() if text is not None else None


class ReadSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=[m for m, _ in forms.READ_MODES], default="latest")
    limit = serializers.IntegerField(min_value=1, max_value=forms.MAX_READ, default=50)
    partition = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    offset = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    timestamp = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="ISO 8601 time (UTC unless zoned) or milliseconds since 1970",
    )

    def validate_timestamp(self, value: str) -> int | None:
        return _django_check(forms.parse_timestamp, value) if value.strip() else None

    def validate(self, data: dict) -> dict:
        data["query"] = _django_check(forms.read_query, data)
        return data


# Output shapes (documentation for the OpenAPI schema).


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="machine-readable code, e.g. topic_exists")
    detail = serializers.CharField()
    audit_record = serializers.UUIDField(required=False)


class TopicSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    partitions = serializers.IntegerField()
    replication_factor = serializers.IntegerField()
    messages = serializers.IntegerField(allow_null=True)
    internal = serializers.BooleanField()


class PartitionSerializer(serializers.Serializer):
    partition = serializers.IntegerField()
    leader = serializers.IntegerField()
    replicas = serializers.ListField(child=serializers.IntegerField())
    isr = serializers.ListField(child=serializers.IntegerField())
    earliest = serializers.IntegerField(allow_null=True)
    latest = serializers.IntegerField(allow_null=True)


class ConfigSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    sensitive = serializers.BooleanField()
    read_only = serializers.BooleanField()


class TopicDetailSerializer(serializers.Serializer):
    name = serializers.CharField()
    internal = serializers.BooleanField()
    replication_factor = serializers.IntegerField()
    messages = serializers.IntegerField(allow_null=True)
    partitions = PartitionSerializer(many=True)
    configs = ConfigSerializer(many=True)


class BytesSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["null", "json", "text", "hex"])
    text = serializers.CharField()
    size = serializers.IntegerField()
    truncated = serializers.BooleanField()


class HeaderSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = BytesSerializer()


class MessageSerializer(serializers.Serializer):
    partition = serializers.IntegerField()
    offset = serializers.IntegerField()
    timestamp = serializers.IntegerField()
    time = serializers.CharField(allow_null=True)
    key = BytesSerializer()
    value = BytesSerializer()
    headers = HeaderSerializer(many=True)


class ReadResultSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)
    partial = serializers.BooleanField(help_text="the time or size bound cut the read short")
    audit_record = serializers.UUIDField()


class ResultSerializer(serializers.Serializer):
    result = serializers.DictField()
    audit_record = serializers.UUIDField()


class ClusterSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    reachable = serializers.BooleanField()
    brokers = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField(allow_null=True)
