"""The audit API: ``GET /api/audit/`` (filters, cursor pages) and ``GET /api/audit/<id>/``.

Who sees what:
- admins and auditors list every record; ``?mine=1`` narrows anyone's list to their own;
- anyone else gets 403 on the list unless they ask for ``?mine=1`` — an explicit refusal
  rather than a silently narrowed list that could be read as "everything";
- a record page answers an admin or auditor for any record and anyone else for their own
  records only; someone else's record is a 404, exactly as for an id that does not exist.
Errors are JSON: ``{"error": <code>, "detail": <message or field errors>}``.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from audit import queries, serializers
from audit.models import AuditRecord
from audit.views import chain_state, delivery_state, records_for_user
from rbac.door import can_read_audit_log

MAX_LIMIT = 200
TRUE, FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


def json_errors(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, reshaped to ``{"error": code, "detail": …}``."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = {"error": exc.default_code, "detail": exc.detail}
    return response


class InvalidFilter(exceptions.ValidationError):
    default_code = "invalid_filter"


class AuditAPIView(APIView):
    def get_exception_handler(self):
        return json_errors


def record_json(record: AuditRecord) -> dict:
    return {
        "id": str(record.id),
        "ts": record.ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "type": record.type,
        "event": record.event,
        "action": record.action,
        "outcome": record.outcome,
        "login": record.login,
        "cluster_id": record.cluster_id,
        "resource_name": record.resource_name,
        "document": record.document,
    }


class AuditRecordList(AuditAPIView):
    """Audit records, newest first, with the Audit log's filters and a ``next`` link."""

    @extend_schema(
        operation_id="audit_list",
        summary="Audit records, newest first",
        description="The Audit log's records of the last `FLEX_AUDIT_VIEW_DAYS` days, with "
        "its filters; follow `next` for older records (keyset pages: nothing repeats or is "
        "skipped while records are written). Admins and auditors only, unless `mine=1`.",
        parameters=serializers.LIST_PARAMS,
        responses=serializers.LIST_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        scope = self._scope(request)
        window = queries.audit_window()
        form = queries.parse_filters(request.query_params, window=window)
        if not form.is_valid():
            raise InvalidFilter(form.errors.get_json_data())
        limit = _limit(request.query_params.get("limit"))
        matching = queries.records_matching(scope, form)
        page = queries.page_of(matching, form.cleaned_data["after"], size=limit, columns=None)
        return Response(
            {
                "results": [record_json(r) for r in page.rows],
                "next": self._next(request, page.next_cursor),
                "filters": queries.active_filters(form),
            }
        )

    def _scope(self, request: Request) -> QuerySet:
        mine = request.query_params.get("mine", "").lower()
        if mine not in TRUE + FALSE:
            raise InvalidFilter({"mine": ["Use mine=1 for your own records."]})
        if mine in TRUE:
            return records_for_user(request.user)
        if not can_read_audit_log(request.user):
            raise exceptions.PermissionDenied(
                "The audit log is open to admins and auditors; use ?mine=1 for your own records."
            )
        return AuditRecord.objects.all()

    def _next(self, request: Request, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        params = {k: v for k, v in request.query_params.items() if k != "after"}
        params["after"] = cursor
        return request.build_absolute_uri(request.path) + "?" + urlencode(params)


def _limit(raw: str | None) -> int:
    if not raw:
        return queries.PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidFilter({"limit": [f"Use a whole number from 1 to {MAX_LIMIT}."]})
    return int(raw)


def _jsonable(value: object) -> object:
    """States come from other modules; whatever their types, answer plain JSON."""
    return json.loads(json.dumps(value, default=str))


class AuditRecordDetail(AuditAPIView):
    """One record with its delivery and chain state; 404 for someone else's record."""

    @extend_schema(
        operation_id="audit_record",
        summary="One audit record, with its delivery and chain state",
        responses=serializers.DETAIL_RESPONSES,
    )
    def get(self, request: Request, record_id: str) -> Response:
        try:
            key = uuid.UUID(record_id)
        except ValueError:
            raise exceptions.NotFound("No such audit record.") from None
        scope = (
            AuditRecord.objects.all()
            if can_read_audit_log(request.user)
            else records_for_user(request.user)
        )
        record = scope.filter(id=key).first()
        if record is None:
            raise exceptions.NotFound("No such audit record.")
        return Response(
            {
                **record_json(record),
                "delivery": _jsonable(delivery_state(record)),
                "chain": _jsonable(chain_state(record)),
            }
        )
