"""The REST API for topics: the same operations as the pages, through the same gate.

``/api/clusters/<cluster-id>/topics/…``; session or token authentication. Errors are
``{"error": code, "detail": message}`` with a fitting 4xx or 503 — from the gate's
outcome, and from ``exception_handler`` for everything DRF raises or nobody expected.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from audit.gate import OperationError, Outcome, ctx_from_request
from audit.records import is_secret_key
from rbac.roles import is_authorized
from topics import display, kafka, operations
from topics.models import Cluster, primary_cluster
from topics.serializers import (
    ClusterSerializer,
    ConfigEditSerializer,
    ConfigSerializer,
    ErrorSerializer,
    ProduceSerializer,
    ReadResultSerializer,
    ReadSerializer,
    ResultSerializer,
    TopicCreateSerializer,
    TopicDetailSerializer,
    TopicSummarySerializer,
    given,
    serializer_failure,
)

log = logging.getLogger("flex.api")

ERRORS = {
    400: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    503: ErrorSerializer,
}
TOPIC_PARAMS = [
    OpenApiParameter("cluster", str, OpenApiParameter.PATH, description="Kafka cluster id"),
    OpenApiParameter("topic", str, OpenApiParameter.PATH),
]
CLUSTER_PARAMS = TOPIC_PARAMS[:1]

_CODES: tuple[tuple[type[Exception], str], ...] = (
    (exceptions.ValidationError, "invalid_request"),
    (exceptions.ParseError, "invalid_request"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
)


def error_body(code: str, detail: str, outcome: Outcome | None = None) -> dict:
    body = {"error": code, "detail": detail}
    if outcome is not None and outcome.record is not None:
        body["audit_record"] = str(outcome.record.id)
    return body


def exception_handler(exc: Exception, context: dict) -> Response:
    """Every error as ``{"error", "detail"}``; an unexpected one is logged and answered 503."""
    if isinstance(exc, OperationError):
        return Response(error_body(exc.code, exc.message), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("too_large", "the request is too large"), status=413)
    response = drf_exception_handler(exc, context)
    if response is None:
        log.exception("unexpected API error", exc_info=exc)
        return Response(
            error_body("internal_error", "unexpected error; it has been logged"),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    code = next((name for kind, name in _CODES if isinstance(exc, kind)), None)
    if isinstance(exc, Http404):
        code = "not_found"
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    if isinstance(exc, exceptions.ValidationError) or detail is None:
        detail = "; ".join(_flatten(response.data))
    response.data = error_body(code or getattr(exc, "default_code", "error"), str(detail))
    return response


def _flatten(data, prefix: str = "") -> list[str]:
    if isinstance(data, dict):
        return [m for key, item in data.items() for m in _flatten(item, f"{key}: ")]
    if isinstance(data, list):
        return [m for item in data for m in _flatten(item, prefix)]
    return [f"{prefix}{data}"]


def _require_authorized(request: Request) -> None:
    if not is_authorized(request.user):
        raise exceptions.PermissionDenied("you are not authorized to use Flex")


def _cluster(key: str) -> Cluster:
    cluster = operations.find_cluster(key)
    if cluster is None:
        raise kafka.UnknownCluster(f"no cluster {key!r} is registered")
    return cluster


def _cluster_id(key: str) -> str:
    cluster = operations.find_cluster(key)
    return cluster.key if cluster else key


def _data(request: Request) -> tuple[dict, OperationError | None]:
    """The request body as a dict; a body that does not parse is a failure to record."""
    try:
        data = request.data
    except exceptions.ParseError as exc:
        return {}, kafka.InvalidRequest(f"the body is not valid JSON: {exc.detail}")
    except exceptions.UnsupportedMediaType as exc:
        return {}, kafka.InvalidRequest(str(exc.detail))
    except RequestDataTooBig:
        return {}, kafka.TooLarge("the request is too large")
    if not hasattr(data, "get"):
        return {}, kafka.InvalidRequest("the body must be a JSON object")
    return data, None


def _run(request: Request, operation, cluster_id: str, ok_status: int = 200) -> Response:
    ctx = ctx_from_request(request, via="api", cluster_id=cluster_id)
    outcome = operations.run(request.user, operation, ctx)
    if not outcome.ok:
        body = error_body(outcome.code or "failed", outcome.error or "failed", outcome)
        return Response(body, status=outcome.http_status)
    return Response(
        {"result": outcome.result, "audit_record": str(outcome.record.id)}, status=ok_status
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _str_dict(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): _text(v) for k, v in value.items()}


def _summary(topic: kafka.TopicSummary) -> dict:
    return {
        "name": topic.name,
        "partitions": topic.partitions,
        "replication_factor": topic.replication_factor,
        "messages": topic.messages,
        "internal": topic.internal,
    }


def _config(entry: kafka.ConfigEntry) -> dict:
    secret = entry.sensitive or is_secret_key(entry.name)
    return {
        "name": entry.name,
        "value": "[hidden]" if secret and entry.value is not None else entry.value,
        "source": entry.source,
        "sensitive": secret,
        "read_only": entry.read_only,
    }


class ClusterListView(APIView):
    @extend_schema(responses={200: ClusterSerializer(many=True), 403: ErrorSerializer})
    def get(self, request: Request) -> Response:
        _require_authorized(request)
        primary_cluster()
        rows = []
        for cluster in Cluster.objects.all():
            try:
                info = kafka.describe_cluster(cluster)
                brokers, error = [f"{b['host']}:{b['port']}" for b in info["brokers"]], None
            except kafka.KafkaError as exc:
                brokers, error = [], exc.message
            rows.append(
                {
                    "id": cluster.key,
                    "name": cluster.name,
                    "reachable": error is None,
                    "brokers": brokers,
                    "error": error,
                }
            )
        return Response(rows)


class TopicListView(APIView):
    @extend_schema(
        parameters=[
            *CLUSTER_PARAMS,
            OpenApiParameter("q", str, description="part of the name"),
            OpenApiParameter("internal", bool, description="include internal (__) topics"),
        ],
        responses={200: TopicSummarySerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, cluster: str) -> Response:
        _require_authorized(request)
        found = _cluster(cluster)
        query = request.query_params.get("q", "").lower()
        internal = request.query_params.get("internal") in ("1", "true")
        topics = [
            _summary(t)
            for t in kafka.list_topics(found)
            if (internal or not t.internal) and query in t.name.lower()
        ]
        return Response(topics)

    @extend_schema(
        parameters=CLUSTER_PARAMS,
        request=TopicCreateSerializer,
        responses={201: ResultSerializer, 409: ErrorSerializer, **ERRORS},
    )
    def post(self, request: Request, cluster: str) -> Response:
        cluster_id = _cluster_id(cluster)
        data, unreadable = _data(request)
        serializer = TopicCreateSerializer(data=data)
        operation = operations.topic_create(
            cluster_id=cluster_id,
            name=_text(given(serializer, "name", "")),
            partitions=_text(given(serializer, "partitions", 1)),
            replication_factor=_text(given(serializer, "replication_factor", 1)),
            config_items=_str_dict(given(serializer, "configs", {})),
            failure=unreadable or serializer_failure(serializer),
        )
        return _run(request, operation, cluster_id, status.HTTP_201_CREATED)


class TopicDetailView(APIView):
    @extend_schema(parameters=TOPIC_PARAMS, responses={200: TopicDetailSerializer, **ERRORS})
    def get(self, request: Request, cluster: str, topic: str) -> Response:
        _require_authorized(request)
        detail = kafka.describe_topic(_cluster(cluster), topic)
        return Response(
            {
                "name": detail.name,
                "internal": detail.internal,
                "replication_factor": detail.replication_factor,
                "messages": detail.messages,
                "partitions": [vars(p) for p in detail.partitions],
                "configs": [_config(c) for c in detail.configs],
            }
        )

    @extend_schema(
        parameters=TOPIC_PARAMS, request=None, responses={200: ResultSerializer, **ERRORS}
    )
    def delete(self, request: Request, cluster: str, topic: str) -> Response:
        cluster_id = _cluster_id(cluster)
        return _run(request, operations.topic_delete(cluster_id=cluster_id, name=topic), cluster_id)


class TopicConfigsView(APIView):
    @extend_schema(parameters=TOPIC_PARAMS, responses={200: ConfigSerializer(many=True), **ERRORS})
    def get(self, request: Request, cluster: str, topic: str) -> Response:
        _require_authorized(request)
        configs = kafka.topic_configs(_cluster(cluster), topic)
        return Response([_config(entry) for entry in configs.values()])

    @extend_schema(
        parameters=TOPIC_PARAMS,
        request=ConfigEditSerializer,
        responses={200: ResultSerializer, **ERRORS},
    )
    def patch(self, request: Request, cluster: str, topic: str) -> Response:
        cluster_id = _cluster_id(cluster)
        data, unreadable = _data(request)
        serializer = ConfigEditSerializer(data=data)
        failure = unreadable or serializer_failure(serializer)
        before = None
        if failure is None:
            try:
                before = kafka.topic_configs(_cluster(cluster), topic)
            except kafka.KafkaError as exc:
                failure = exc
        reset = given(serializer, "reset", [])
        operation = operations.topic_configs_edit(
            cluster_id=cluster_id,
            name=topic,
            set_items=_str_dict(given(serializer, "set", {})),
            reset_keys=[_text(k) for k in reset] if isinstance(reset, list) else [],
            before=before,
            failure=failure,
        )
        return _run(request, operation, cluster_id)


class TopicMessagesView(APIView):
    @extend_schema(
        parameters=[*TOPIC_PARAMS, ReadSerializer],
        responses={200: ReadResultSerializer, **ERRORS},
    )
    def get(self, request: Request, cluster: str, topic: str) -> Response:
        cluster_id = _cluster_id(cluster)
        serializer = ReadSerializer(data=request.query_params)
        failure = serializer_failure(serializer)
        operation = operations.messages_read(
            cluster_id=cluster_id,
            name=topic,
            query=None if failure else serializer.validated_data["query"],
            given=request.query_params.dict(),
            failure=failure,
        )
        ctx = ctx_from_request(request, via="api", cluster_id=cluster_id)
        outcome = operations.run(request.user, operation, ctx)
        if not outcome.ok:
            body = error_body(outcome.code or "failed", outcome.error or "failed", outcome)
            return Response(body, status=outcome.http_status)
        return Response(
            {
                "messages": [display.render_message(m) for m in outcome.result.messages],
                "partial": outcome.result.partial,
                "audit_record": str(outcome.record.id),
            }
        )

    @extend_schema(
        parameters=TOPIC_PARAMS,
        request=ProduceSerializer,
        responses={201: ResultSerializer, 413: ErrorSerializer, **ERRORS},
    )
    def post(self, request: Request, cluster: str, topic: str) -> Response:
        cluster_id = _cluster_id(cluster)
        data, unreadable = _data(request)
        serializer = ProduceSerializer(data=data)
        failure = unreadable or serializer_failure(serializer)
        valid = failure is None
        partition = given(serializer, "partition")
        operation = operations.message_produce(
            cluster_id=cluster_id,
            name=topic,
            key=serializer.raw_bytes("key") if not unreadable else None,
            value=serializer.raw_bytes("value") if not unreadable else None,
            headers=serializer.validated_data["header_list"] if valid else [],
            partition=_text(partition) if partition is not None else None,
            failure=failure,
        )
        return _run(request, operation, cluster_id, status.HTTP_201_CREATED)


class TopicTruncateView(APIView):
    @extend_schema(
        parameters=TOPIC_PARAMS, request=None, responses={200: ResultSerializer, **ERRORS}
    )
    def post(self, request: Request, cluster: str, topic: str) -> Response:
        cluster_id = _cluster_id(cluster)
        operation = operations.topic_truncate(cluster_id=cluster_id, name=topic)
        return _run(request, operation, cluster_id)
