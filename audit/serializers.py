"""The audit API's shapes and parameters, for the OpenAPI schema (``/api/docs/``).

The filters are checked by ``audit.queries.FilterForm`` (the same as the pages); this
module only describes them.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers

from audit.models import AuditRecord
from lib.schema import NOT_SIGNED_IN, error

EXAMPLE_CURSOR = "1764072000123000-01938c2e7d2a7c3e9b1f2f9a4e1d6b10"


class RecordSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ts = serializers.DateTimeField(help_text="ISO 8601, UTC, milliseconds")
    type = serializers.CharField(help_text="mutation/request, query/request or auth/…")
    event = serializers.CharField(help_text="e.g. mutation/create-topic")
    action = serializers.CharField(allow_blank=True, help_text="the RBAC action, if any")
    outcome = serializers.ChoiceField(choices=[value for value, _ in AuditRecord.OUTCOMES])
    login = serializers.CharField(allow_blank=True)
    cluster_id = serializers.CharField(allow_blank=True)
    resource_name = serializers.CharField(allow_blank=True)
    document = serializers.JSONField(help_text="the whole record, as the sinks receive it")


class RecordListSerializer(serializers.Serializer):
    results = RecordSerializer(many=True)
    next = serializers.URLField(
        allow_null=True, help_text="the next (older) page, filters kept; null on the last page"
    )
    filters = serializers.DictField(
        child=serializers.CharField(), help_text="the filters in effect, as understood"
    )


class DeliverySerializer(serializers.Serializer):
    sink = serializers.CharField()
    status = serializers.CharField(help_text="pending, delivered or failed")
    attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class RecordDetailSerializer(RecordSerializer):
    delivery = DeliverySerializer(many=True, help_text="where the record stands with each sink")
    chain = serializers.CharField(help_text="sealed #n, unsealed or refused: …")


def _param(name: str, description: str, kind: object = str, **extra) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=description, **extra)


FILTERS = [
    _param("user", "login, exact", examples=[OpenApiExample("bob", value="bob")]),
    _param("type", "record type, exact", enum=["mutation/request", "query/request", "auth/…"]),
    _param(
        "event",
        "event, exact",
        examples=[OpenApiExample("create", value="mutation/create-topic")],
    ),
    _param("action", "RBAC action from the catalogue (any case), e.g. TOPIC_CREATE"),
    _param("outcome", "outcome", enum=[value for value, _ in AuditRecord.OUTCOMES]),
    _param("cluster", "Kafka cluster id, exact"),
    _param("resource", "part of the resource name, any case"),
    _param("since", "from this time (ISO 8601, UTC unless zoned)", OpenApiTypes.DATETIME),
    _param("until", "up to this time (ISO 8601, UTC unless zoned)", OpenApiTypes.DATETIME),
]
LIST_PARAMS = [
    *FILTERS,
    _param("limit", "records per page, 1–200 (default 50)", int),
    _param(
        "mine",
        "1: only your own records (anyone signed in); otherwise every record (admins and "
        "auditors only)",
        enum=["1", "0"],
    ),
    _param(
        "after",
        "cursor: the `next` link carries it; opaque, a garbled one is a 400",
        examples=[OpenApiExample("cursor", value=EXAMPLE_CURSOR)],
    ),
]

BAD_FILTER = error(
    "a filter, `limit`, `mine` or the cursor is not valid (field errors in `detail`)",
    "invalid_filter",
    '{"limit": [{"message": "Use a whole number from 1 to 200.", "code": ""}]}',
)
LIST_RESPONSES = {
    200: RecordListSerializer,
    400: BAD_FILTER,
    403: error(
        "not an admin or auditor (ask for `?mine=1`), or not signed in",
        "permission_denied",
        "The audit log is open to admins and auditors; use ?mine=1 for your own records.",
    ),
}
DETAIL_RESPONSES = {
    200: RecordDetailSerializer,
    403: NOT_SIGNED_IN,
    404: error(
        "no such record, or someone else's (for anyone but admins and auditors)",
        "not_found",
        "No such audit record.",
    ),
}
