"""The REST API for consumer groups: the same checks, operations and read model as the pages.

``/api/clusters/<cluster-id>/groups/…``; authentication and the error envelope are the
topic API's (``topics/api.py``). A reset answers its plan; with ``dry_run`` (the default)
nothing moves. A deletion answers 204, its audit record's id in ``Flex-Audit-Record``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.schema import ErrorSerializer
from topics import group_operations, group_validation, operations, reads
from topics.api import CLUSTER_PARAMS, ERRORS, answer_outcome, checked_body
from topics.serializers import (
    GroupDetailSerializer,
    GroupListSerializer,
    GroupResetResultSerializer,
    GroupResetSerializer,
)

GROUP_PARAMS = [*CLUSTER_PARAMS, OpenApiParameter("group", str, OpenApiParameter.PATH)]
CONFLICT = {409: ErrorSerializer}


class GroupListView(APIView):
    @extend_schema(
        summary="Consumer groups with their state, members and lag",
        parameters=[
            *CLUSTER_PARAMS,
            OpenApiParameter("q", str, description="part of the group id"),
            OpenApiParameter(
                "sort", str, enum=list(reads.GROUP_SORTS), description="lag: largest first"
            ),
        ],
        responses={200: GroupListSerializer, **ERRORS},
        operation_id="clusters_groups_list",
    )
    def get(self, request: Request, cluster: str) -> Response:
        reads.require_authorized(request.user)
        found = reads.require_cluster(operations.target(cluster))
        sort = request.query_params.get("sort")
        shown = reads.groups(
            found,
            query=request.query_params.get("q", ""),
            sort=sort if sort in reads.GROUP_SORTS else "group_id",
        )
        return Response({"results": [reads.group_summary_json(g) for g in shown]})


class GroupDetailView(APIView):
    @extend_schema(
        summary="A consumer group: members, committed offsets and lag per partition",
        parameters=GROUP_PARAMS,
        responses={200: GroupDetailSerializer, **ERRORS},
    )
    def get(self, request: Request, cluster: str, group: str) -> Response:
        reads.require_authorized(request.user)
        found = reads.require_cluster(operations.target(cluster))
        return Response(reads.group_json(reads.group(found, group)))

    @extend_schema(
        summary="Delete a consumer group (GROUP_DELETE; recorded)",
        parameters=GROUP_PARAMS,
        request=None,
        responses={204: None, **CONFLICT, **ERRORS},
    )
    def delete(self, request: Request, cluster: str, group: str) -> Response:
        checked = group_validation.check_delete({}, group=group)
        operation = group_operations.group_delete(operations.target(cluster), group, checked, {})
        outcome = operations.run_request(request, operation, via="api")
        if not outcome.ok:
            return answer_outcome(outcome, dict, status.HTTP_204_NO_CONTENT)
        headers = {"Flex-Audit-Record": str(outcome.record.id)}
        return Response(status=status.HTTP_204_NO_CONTENT, headers=headers)


class GroupOffsetsView(APIView):
    handles_oversized = True  # its writes read the body through checked_body, which refuses it

    @extend_schema(
        summary="Reset a group's offsets, or preview the plan (GROUP_EDIT; recorded)",
        parameters=GROUP_PARAMS,
        request=GroupResetSerializer,
        responses={200: GroupResetResultSerializer, **CONFLICT, **ERRORS},
    )
    def post(self, request: Request, cluster: str, group: str) -> Response:
        data, checked = checked_body(
            request, lambda body: group_validation.check_reset(body, group=group)
        )
        where = operations.target(cluster)
        operation = group_operations.group_offsets_reset(where, group, checked, data)
        outcome = operations.run_request(request, operation, via="api")
        return answer_outcome(outcome, lambda done: done.result, status.HTTP_200_OK)
