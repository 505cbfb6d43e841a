"""The API's request and response shapes, for the OpenAPI schema. Input is checked by
``topics/validation.py`` (the same checks as the pages), not here."""

from __future__ import annotations

from rest_framework import serializers

from topics.kafka import RESET_MODES
from topics.validation import ENCODINGS, MAX_PARTITIONS, MAX_READ, READ_MODES


class TopicCreateSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="1 to 249 of letters, digits, '.', '_' and '-'")
    partitions = serializers.IntegerField(min_value=1, max_value=MAX_PARTITIONS, default=1)
    replication_factor = serializers.IntegerField(
        min_value=1, default=1, help_text="at most the number of brokers"
    )
    configs = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, help_text="topic configs"
    )


class ConfigEditSerializer(serializers.Serializer):
    set = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, help_text="configs to set"
    )
    reset = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="configs to reset to default"
    )


class ProduceSerializer(serializers.Serializer):
    key = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    value = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    headers = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    partition = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    encoding = serializers.ChoiceField(
        choices=list(ENCODINGS),
        default="utf-8",
        help_text="how key and value are written in this request",
    )


class ReadSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=[m for m, _ in READ_MODES], default="latest")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_READ, default=50)
    partition = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    offset = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    timestamp = serializers.CharField(
        required=False, help_text="ISO 8601 time (UTC unless zoned) or milliseconds since 1970"
    )
    q = serializers.CharField(required=False, help_text="in the key or the value, any case")
    key = serializers.CharField(required=False, help_text="the key, exactly")
    header = serializers.CharField(required=False, help_text="`name`, or `name=value`")
    expr = serializers.CharField(
        required=False,
        help_text="JMESPath, true for the message: `value.customer.id == '42'`",
    )
    cursor = serializers.CharField(
        required=False, help_text="`next` or `previous` of an earlier page"
    )


class StagedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="staged: a Stage policy sent it for approval")
    approval = serializers.UUIDField(help_text="the request for approval (/api/approvals/<id>/)")
    audit_record = serializers.UUIDField()


class TopicSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    partitions = serializers.IntegerField()
    replication_factor = serializers.IntegerField()
    messages = serializers.IntegerField(allow_null=True, help_text="latest − earliest offsets")
    size = serializers.IntegerField(
        allow_null=True, help_text="bytes of the leader replicas; null: the cluster cannot say"
    )
    internal = serializers.BooleanField()
    under_replicated = serializers.BooleanField(help_text="a partition lacks in-sync replicas")
    offline = serializers.BooleanField(help_text="a partition has no leader")


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
    source = serializers.CharField(
        help_text="DYNAMIC_TOPIC_CONFIG (set on the topic), DEFAULT_CONFIG, STATIC_BROKER_CONFIG…"
        ", or KAFKA_DEFAULT: not reported by the broker, Apache Kafka's default shown"
    )
    sensitive = serializers.BooleanField()
    read_only = serializers.BooleanField()
    default = serializers.CharField(allow_null=True, help_text="what the topic falls back to")
    default_source = serializers.CharField(allow_null=True)
    overridden = serializers.BooleanField(help_text="set on the topic")
    reported = serializers.BooleanField(help_text="false: the broker did not list this config")
    note = serializers.CharField(allow_blank=True)


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
    order = serializers.ChoiceField(choices=["newest first", "oldest first"])
    scanned = serializers.IntegerField(help_text="messages read to find these")
    matched = serializers.IntegerField()
    partial = serializers.BooleanField(
        help_text="the scan budget, the time or the size bound stopped the scan"
    )
    next = serializers.CharField(allow_null=True, help_text="cursor of the next page")
    previous = serializers.CharField(allow_null=True, help_text="cursor of the previous page")
    data_policies = serializers.ListField(child=serializers.DictField())
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


class GroupSummarySerializer(serializers.Serializer):
    group_id = serializers.CharField()
    state = serializers.CharField()
    members = serializers.IntegerField(help_text="active members")
    topics = serializers.ListField(child=serializers.CharField())
    lag = serializers.IntegerField(help_text="sum over partitions of log end - committed")


class GroupListSerializer(serializers.Serializer):
    results = GroupSummarySerializer(many=True)


class MemberSerializer(serializers.Serializer):
    member_id = serializers.CharField()
    client_id = serializers.CharField(allow_blank=True)
    host = serializers.CharField(allow_blank=True)


class GroupOffsetSerializer(serializers.Serializer):
    topic = serializers.CharField()
    partition = serializers.IntegerField()
    committed = serializers.IntegerField()
    end = serializers.IntegerField(allow_null=True, help_text="log-end offset")
    lag = serializers.IntegerField(allow_null=True)


class GroupDetailSerializer(serializers.Serializer):
    group_id = serializers.CharField()
    state = serializers.CharField()
    members = MemberSerializer(many=True)
    offsets = GroupOffsetSerializer(many=True)


class GroupResetSerializer(serializers.Serializer):
    topic = serializers.CharField()
    partitions = serializers.ListField(
        child=serializers.IntegerField(min_value=0), required=False, help_text="default: all"
    )
    to = serializers.ChoiceField(choices=list(RESET_MODES))
    value = serializers.IntegerField(
        required=False, help_text="offset; epoch ms for timestamp; +/- count for shift"
    )
    dry_run = serializers.BooleanField(
        default=True, help_text="true (the default): answer the plan and move nothing"
    )


# "from" is a Python keyword: the serializer is built with it as a field name.
OffsetChangeSerializer = type(
    "OffsetChangeSerializer",
    (serializers.Serializer,),
    {
        "topic": serializers.CharField(),
        "partition": serializers.IntegerField(),
        "from": serializers.IntegerField(allow_null=True, help_text="committed before"),
        "to": serializers.IntegerField(allow_null=True, help_text="committed after"),
    },
)


class GroupResetResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    changes = OffsetChangeSerializer(many=True)
    audit_record = serializers.UUIDField()
