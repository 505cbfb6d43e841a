"""The REST API for topics: the same checks, operations and read model as the pages.

``/api/clusters/<cluster-id>/topics/…``; session or token authentication. Errors are
``{"error": code, "detail": message}`` with a fitting 4xx or 503 — from the gate's
outcome, and from ``lib.api.exception_handler`` for everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.gate import Operation, Outcome
from audit.models import AuditRecord
from lib.api import error_body
from lib.errors import InvalidRequest, OperationError, TooLarge
from lib.schema import NOT_SIGNED_IN, ErrorSerializer, error
from rbac.roles import roles_for_user
from topics import operations, reads, validation
from topics.serializers import (
    ClusterSerializer,
    ConfigEditSerializer,
    ConfigSerializer,
    ProduceSerializer,
    ReadResultSerializer,
    ReadSerializer,
    ResultSerializer,
    StagedSerializer,
    TopicCreateSerializer,
    TopicDetailSerializer,
    TopicSummarySerializer,
)

ERRORS = {
    401: NOT_SIGNED_IN,
    400: error(
        "invalid input (`detail` names each bad field)",
        "invalid_request",
        "partitions: must be at least 1",
    ),
    403: error(
        "not allowed by the policies (recorded as denied), or a protected topic",
        "denied",
        "TOPIC_DELETE on cluster/c1/topic/orders is not allowed",
    ),
    404: error("no such cluster or topic", "unknown_topic", "topic 'orders' does not exist"),
    503: error(
        "the cluster does not answer, or the audit record could not be written",
        "cluster_unavailable",
        "cluster 'primary' did not answer within 3000 ms",
    ),
}
# A change a Stage policy holds: 202, sent for approval.
CHANGE_ERRORS = {202: StagedSerializer, **ERRORS}
TOPIC_PARAMS = [
    OpenApiParameter("cluster", str, OpenApiParameter.PATH, description="Kafka cluster id"),
    OpenApiParameter("topic", str, OpenApiParameter.PATH),
]
CLUSTER_PARAMS = TOPIC_PARAMS[:1]
CONFIRMED = operations.CONFIRMED  # the API's DELETE and truncate need no typed name
READ_DESCRIPTION = (
    "`mode=latest` answers the newest messages first; `offset` and `timestamp` answer "
    "ascending from the start point (`order` says which). Follow `next` and `previous` "
    "(opaque cursors of per-partition offsets: pass one as `cursor`, the other fields "
    "kept) to page on either way; a cursor that is garbled, forged or another topic's is "
    "a 400. Filters run on the server after masking, so they never match what the "
    "data policies hide: `q` (in the key or value, any case), `key` (exact), `header` "
    "(`name` or `name=value`), `expr` (JMESPath over `{key, value, headers, partition, "
    "offset, timestamp}`, JSON parsed: `value.customer.id == '42'`, or as in jq "
    '`value.customer.id == "42"`). A page scans at most `FLEX_READ_SCAN_MAX` messages '
    "(and the time and size bounds); `scanned`, `matched` and `partial` report it, and "
    "`next` continues the scan."
)
READ_EXAMPLES = [
    OpenApiExample(
        "a filtered page",
        response_only=True,
        value={
            "messages": [],
            "order": "newest first",
            "scanned": 10000,
            "matched": 3,
            "partial": True,
            "next": "eyJjIjoiZmxleC10ZXN0Ii…",
            "previous": None,
            "data_policies": [],
            "audit_record": "01938c2e-7d2a-7c3e-9b1f-2f9a4e1d6b10",
        },
    )
]


def _body(request: Request) -> tuple[dict, OperationError | None]:
    """The request body as a dict; a body that does not parse is a failure to record."""
    size = getattr(request._request, "flex_oversized", None)  # noqa: SLF001
    if size is not None:  # refused unread by flex.middleware.OversizedBodyMiddleware
        return {}, TooLarge(f"the request is {size} bytes: more than this server accepts")
    try:
        data = request.data
    except exceptions.ParseError as exc:
        return {}, InvalidRequest(f"the body is not valid JSON: {exc.detail}")
    except exceptions.UnsupportedMediaType as exc:
        return {}, InvalidRequest(str(exc.detail))
    if not hasattr(data, "get"):
        return {}, InvalidRequest("the body must be a JSON object")
    return data, None


def checked_body(request: Request, check: Callable) -> tuple[dict, validation.Checked]:
    data, unreadable = _body(request)
    return data, operations.refused(unreadable) if unreadable else check(data)


def answer_outcome(outcome: Outcome, body: Callable[[Outcome], dict], ok_status: int) -> Response:
    if outcome.status == AuditRecord.STAGED:  # a Stage policy: sent for approval
        staged = {"status": "staged", **outcome.result, "audit_record": str(outcome.record.id)}
        return Response(staged, status=status.HTTP_202_ACCEPTED)
    if not outcome.ok:
        audit_record = outcome.record.id if outcome.record else None
        detail = error_body(outcome.code or "failed", outcome.error or "failed", audit_record)
        return Response(detail, status=outcome.http_status)
    return Response({**body(outcome), "audit_record": str(outcome.record.id)}, status=ok_status)


def _run(request: Request, operation: Operation, ok_status: int = 200) -> Response:
    outcome = operations.run_request(request, operation, via="api")
    return answer_outcome(outcome, lambda done: {"result": done.result}, ok_status)


class ClusterListView(APIView):
    @extend_schema(
        operation_id="clusters_list",
        summary="Registered clusters, reachable or not",
        responses={200: ClusterSerializer(many=True), 403: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        reads.require_authorized(request.user)
        return Response([row.as_json() for row in reads.clusters()])


class TopicListView(APIView):
    handles_oversized = True  # its writes read the body through _body, which refuses it

    @extend_schema(
        operation_id="topics_list",
        summary="List topics (search, paging, sorting)",
        parameters=[
            *CLUSTER_PARAMS,
            OpenApiParameter("q", str, description="part of the name, any case"),
            OpenApiParameter("internal", bool, description="include internal (__) topics"),
            OpenApiParameter(
                "sort",
                str,
                enum=[*validation.TOPIC_SORTS, *(f"-{c}" for c in validation.TOPIC_SORTS)],
                description="column to sort on, `-` first for descending (default `name`); "
                "topics without a value (a size the cluster does not report) come last",
            ),
            OpenApiParameter("page", int, description="page number, from 1"),
            OpenApiParameter(
                "per_page", int, description=f"1–{validation.MAX_PER_PAGE} (default 50)"
            ),
        ],
        responses={
            200: OpenApiResponse(
                TopicSummarySerializer(many=True),
                description="one page of topics; `X-Total-Count` says how many match, `Link` "
                'holds the `rel="next"` and `rel="prev"` pages',
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request, cluster: str) -> Response:
        reads.require_authorized(request.user)
        checked = validation.check_topic_list(request.query_params)
        if checked.error is not None:
            raise checked.error
        found = reads.topic_page(reads.require_cluster(operations.target(cluster)), checked.value)
        response = Response([reads.summary_json(t) for t in found.rows])
        response["X-Total-Count"] = str(found.total)
        here = request.build_absolute_uri(request.path)
        links = [
            f'<{here}?{urlencode(checked.value.as_params(page=n))}>; rel="{rel}"'
            for rel, n in (("prev", found.page - 1), ("next", found.page + 1))
            if 1 <= n <= found.pages
        ]
        if links:
            response["Link"] = ", ".join(links)
        return response

    @extend_schema(
        operation_id="topic_create",
        summary="Create a topic (TOPIC_CREATE; recorded)",
        parameters=CLUSTER_PARAMS,
        request=TopicCreateSerializer,
        responses={201: ResultSerializer, 409: ErrorSerializer, **CHANGE_ERRORS},
    )
    def post(self, request: Request, cluster: str) -> Response:
        data, checked = checked_body(request, validation.check_create)
        operation = operations.topic_create(operations.target(cluster), checked, data)
        return _run(request, operation, status.HTTP_201_CREATED)


class TopicDetailView(APIView):
    @extend_schema(
        operation_id="topic_detail",
        summary="A topic: partitions, offsets, configs",
        parameters=TOPIC_PARAMS,
        responses={200: TopicDetailSerializer, **ERRORS},
    )
    def get(self, request: Request, cluster: str, topic: str) -> Response:
        reads.require_authorized(request.user)
        found = reads.require_cluster(operations.target(cluster))
        return Response(reads.detail_json(reads.topic(found, topic)))

    @extend_schema(
        operation_id="topic_delete",
        summary="Delete a topic (TOPIC_DELETE; recorded)",
        parameters=TOPIC_PARAMS,
        request=None,
        responses={200: ResultSerializer, **CHANGE_ERRORS},
    )
    def delete(self, request: Request, cluster: str, topic: str) -> Response:
        operation = operations.topic_delete(operations.target(cluster), topic, CONFIRMED)
        return _run(request, operation)


class TopicConfigsView(APIView):
    handles_oversized = True  # its writes read the body through _body, which refuses it

    @extend_schema(
        operation_id="topic_configs",
        summary="A topic's configs, each with its source and the broker default",
        parameters=TOPIC_PARAMS,
        responses={200: ConfigSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, cluster: str, topic: str) -> Response:
        reads.require_authorized(request.user)
        return Response(reads.configs(reads.require_cluster(operations.target(cluster)), topic))

    @extend_schema(
        operation_id="topic_configs_edit",
        summary="Change configs: incremental set and reset (TOPIC_EDIT; recorded)",
        parameters=TOPIC_PARAMS,
        request=ConfigEditSerializer,
        responses={200: ResultSerializer, **CHANGE_ERRORS},
    )
    def patch(self, request: Request, cluster: str, topic: str) -> Response:
        data, checked = checked_body(request, validation.check_config_change)
        operation = operations.topic_configs_edit(operations.target(cluster), topic, checked, data)
        return _run(request, operation)


class TopicMessagesView(APIView):
    handles_oversized = True  # its writes read the body through _body, which refuses it

    @extend_schema(
        operation_id="messages_read",
        summary="Read messages: paged, filtered, masked (TOPIC_INSPECT; recorded)",
        description=READ_DESCRIPTION,
        parameters=[*TOPIC_PARAMS, ReadSerializer],
        responses={200: ReadResultSerializer, **ERRORS},
        examples=READ_EXAMPLES,
    )
    def get(self, request: Request, cluster: str, topic: str) -> Response:
        where = operations.target(cluster)
        outcome = _browse(request, where, topic, download=False)
        return answer_outcome(
            outcome, lambda done: reads.page_json(done.result, where=where, topic=topic), 200
        )

    @extend_schema(
        operation_id="message_produce",
        summary="Produce a message (TOPIC_PRODUCE; recorded)",
        parameters=TOPIC_PARAMS,
        request=ProduceSerializer,
        responses={201: ResultSerializer, 413: ErrorSerializer, **CHANGE_ERRORS},
    )
    def post(self, request: Request, cluster: str, topic: str) -> Response:
        data, checked = checked_body(request, validation.check_message)
        operation = operations.message_produce(operations.target(cluster), topic, checked, data)
        return _run(request, operation, status.HTTP_201_CREATED)


def _browse(request: Request, where: operations.Target, topic: str, *, download: bool) -> Outcome:
    params = request.query_params
    checked = validation.check_read(params, full=download)
    roles = roles_for_user(request.user)
    operation = operations.messages_read(
        where, topic, checked, params, roles=roles, download=download
    )
    return operations.run_request(request, operation, via="api")


class MessagesDownloadView(APIView):
    @extend_schema(
        operation_id="messages_download",
        summary="Download a page of messages as JSON Lines (TOPIC_DATA_DOWNLOAD; recorded)",
        description="The same parameters as reading (one message: `mode=offset&partition=P"
        "&offset=O&limit=1`); one whole message per line, masked, never cut at the display "
        "limit. `X-Scanned` and `X-Matched` carry the scan's counts.",
        parameters=[*TOPIC_PARAMS, ReadSerializer],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="one JSON message per line"
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request, cluster: str, topic: str) -> HttpResponse | Response:
        outcome = _browse(request, operations.target(cluster), topic, download=True)
        if not outcome.ok:
            return answer_outcome(outcome, dict, 200)
        return reads.download_response(outcome.result, f"{topic}-page")


class TopicTruncateView(APIView):
    @extend_schema(
        operation_id="topic_truncate",
        summary="Truncate a topic (TOPIC_TRUNCATE; recorded)",
        parameters=TOPIC_PARAMS,
        request=None,
        responses={200: ResultSerializer, **CHANGE_ERRORS},
    )
    def post(self, request: Request, cluster: str, topic: str) -> Response:
        operation = operations.topic_truncate(operations.target(cluster), topic, CONFIRMED)
        return _run(request, operation)
