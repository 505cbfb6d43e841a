"""The audit API: ``GET /api/audit/`` (filters, cursor pages), ``GET /api/audit/<id>/``, and
the ledger: ``GET /api/audit/keys`` (no sign-in), ``GET /api/audit/<id>/proof``,
``GET /api/audit/checkpoints/latest``, ``…/checkpoints/<seq>`` and
``…/checkpoints/consistency?from=&to=``.

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
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from audit import ledger, queries, serializers, signing
from audit.models import AuditRecord, Checkpoint
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


def _record_for(request: Request, record_id: str) -> AuditRecord:
    """The record, if this user may read it; else 404, as for an id that does not exist."""
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
    return record


class AuditRecordDetail(AuditAPIView):
    """One record with its delivery and chain state; 404 for someone else's record."""

    @extend_schema(
        operation_id="audit_record",
        summary="One audit record, with its delivery and chain state",
        responses=serializers.DETAIL_RESPONSES,
    )
    def get(self, request: Request, record_id: str) -> Response:
        record = _record_for(request, record_id)
        return Response(
            {
                **record_json(record),
                "delivery": _jsonable(delivery_state(record)),
                "chain": _jsonable(chain_state(record)),
            }
        )


# The ledger -----------------------------------------------------------------------------


class ProofUnavailable(exceptions.APIException):
    status_code = 409
    default_code = "proof_unavailable"


class AuditKeys(AuditAPIView):
    """The public keys records and checkpoints are signed with: open to anyone."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="audit_keys",
        summary="The public keys records and checkpoints are signed with (no sign-in)",
        responses=serializers.KEYS_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        return Response(signing.keys_json())


def _seq(raw: str | None, name: str) -> int:
    if not raw or not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise InvalidFilter({name: ["Use a checkpoint number (1, 2, …)."]})
    return int(raw)


def _checkpoint(seq: int | None) -> Checkpoint:
    found = ledger.checkpoint_by(seq) if seq is None or seq < 2**63 else None
    if found is None:
        raise exceptions.NotFound("No checkpoint yet." if seq is None else "No such checkpoint.")
    return found


class CheckpointDetail(AuditAPIView):
    """A signed checkpoint: the newest (``latest``) or number ``seq``."""

    @extend_schema(
        summary="A signed checkpoint of the audit chain (the newest, or by number)",
        responses=serializers.CHECKPOINT_RESPONSES,
    )
    def get(self, request: Request, seq: int | None = None) -> Response:
        return Response(ledger.checkpoint_json(_checkpoint(seq)))


class CheckpointConsistency(AuditAPIView):
    """RFC 6962 consistency proof between checkpoints ``from`` and ``to``."""

    @extend_schema(
        operation_id="audit_checkpoints_consistency",
        summary="A consistency proof: checkpoint `to` extends checkpoint `from`",
        parameters=serializers.CONSISTENCY_PARAMS,
        responses=serializers.CONSISTENCY_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        old = _checkpoint(_seq(request.query_params.get("from"), "from"))
        new = _checkpoint(_seq(request.query_params.get("to"), "to"))
        if old.records > new.records:
            raise InvalidFilter({"from": ["Use a checkpoint no newer than to."]})
        return Response(ledger.consistency(old, new))


class AuditRecordProof(AuditAPIView):
    """The record's inclusion proof against the newest checkpoint (or ``?checkpoint=``)."""

    @extend_schema(
        operation_id="audit_record_proof",
        summary="A record's inclusion proof against a signed checkpoint",
        parameters=serializers.PROOF_PARAMS,
        responses=serializers.PROOF_RESPONSES,
    )
    def get(self, request: Request, record_id: str) -> Response:
        record = _record_for(request, record_id)
        raw = request.query_params.get("checkpoint")
        seq = _seq(raw, "checkpoint") if raw is not None else None
        try:
            return Response(ledger.record_proof(record, checkpoint_seq=seq))
        except ledger.ProofUnavailable as exc:
            raise ProofUnavailable(str(exc)) from None
