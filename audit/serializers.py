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
    401: NOT_SIGNED_IN,
    404: error(
        "no such record, or someone else's (for anyone but admins and auditors)",
        "not_found",
        "No such audit record.",
    ),
}


# The ledger: keys, checkpoints, proofs (audit/ledger.py, audit/signing.py).


class KeySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="first 16 hex of sha256 of the raw public key")
    alg = serializers.ChoiceField(choices=["Ed25519"])
    public_key = serializers.CharField(help_text="base64 of the raw 32-byte public key")
    created = serializers.DateTimeField()
    retired = serializers.DateTimeField(allow_null=True)


class KeysSerializer(serializers.Serializer):
    keys = KeySerializer(many=True)


class CheckpointSerializer(serializers.Serializer):
    seq = serializers.IntegerField(help_text="the checkpoint's number, from 1")
    head = serializers.CharField(help_text="the chain head (the newest seal) it covers")
    root = serializers.CharField(help_text="RFC 6962 Merkle tree head over the sealed records")
    records = serializers.IntegerField(help_text="how many sealed records the tree holds")
    ts = serializers.DateTimeField()
    signature = serializers.CharField(help_text="Ed25519, base64, over the canonical JSON")
    key_id = serializers.CharField()


class ProofSerializer(serializers.Serializer):
    record_id = serializers.UUIDField()
    leaf_index = serializers.IntegerField(help_text="the record sealed as #n is leaf n - 1")
    tree_size = serializers.IntegerField(help_text="the checkpoint's records")
    leaf_hash = serializers.CharField(help_text="SHA-256(0x00 || value), hex")
    inclusion = serializers.ListField(
        child=serializers.CharField(), help_text="RFC 6962 inclusion proof: hashes, hex"
    )
    checkpoint = CheckpointSerializer()
    value = serializers.CharField(help_text="the record exactly as published (the leaf bytes)")
    key_id = serializers.CharField(allow_null=True)
    signature = serializers.CharField(allow_null=True, help_text="Ed25519 over value, base64")


class ConsistencySerializer(serializers.Serializer):
    from_ = CheckpointSerializer(help_text="the older checkpoint")
    to = CheckpointSerializer(help_text="the newer checkpoint")
    proof = serializers.ListField(
        child=serializers.CharField(), help_text="RFC 6962 consistency proof: hashes, hex"
    )

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


NO_CHECKPOINT = error("no such checkpoint (or none yet)", "not_found", "No such checkpoint.")
BAD_SEQ = error(
    "`from`, `to` or `checkpoint` is not a checkpoint number",
    "invalid_filter",
    '{"from": [{"message": "Use a checkpoint number (1, 2, …).", "code": ""}]}',
)
KEYS_RESPONSES = {
    200: KeysSerializer,
    503: error(
        "the keys could not be read (the database is unavailable)",
        "internal_error",
        "unexpected error; it has been logged",
    ),
}
CHECKPOINT_RESPONSES = {200: CheckpointSerializer, 401: NOT_SIGNED_IN, 404: NO_CHECKPOINT}
CONSISTENCY_PARAMS = [
    _param("from", "the older checkpoint's number", int, required=True),
    _param("to", "the newer checkpoint's number", int, required=True),
]
CONSISTENCY_RESPONSES = {
    200: ConsistencySerializer,
    400: BAD_SEQ,
    401: NOT_SIGNED_IN,
    404: NO_CHECKPOINT,
}
PROOF_PARAMS = [_param("checkpoint", "prove against this checkpoint (default: the newest)", int)]
PROOF_RESPONSES = {
    200: ProofSerializer,
    400: BAD_SEQ,
    401: NOT_SIGNED_IN,
    404: DETAIL_RESPONSES[404],
    409: error(
        "the record is not sealed, or no checkpoint covers it yet",
        "proof_unavailable",
        "record is not covered by a checkpoint yet",
    ),
}
