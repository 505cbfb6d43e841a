"""The approvals API: list and show requests, approve or reject one.

``/api/approvals/…``; session or token authentication, errors as ``{"error", "detail"}``
(``lib.api``). Only ``comment`` is read from a decision's body: nothing in it can change what
runs.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals import decisions, requests
from approvals.decisions import Decided
from approvals.models import Approval
from audit.gate import ctx_from_request
from lib.api import error_body

STATES = [state for state, _ in Approval.STATES]
ERROR = inline_serializer(
    "ApprovalError",
    {
        "error": serializers.CharField(),
        "detail": serializers.CharField(),
        "audit_record": serializers.UUIDField(required=False),
    },
)
APPROVAL_FIELDS = {
    "id": serializers.UUIDField(),
    "state": serializers.ChoiceField(choices=STATES),
    "operation": serializers.CharField(),
    "action": serializers.CharField(),
    "resource": serializers.ListField(child=serializers.CharField()),
    "request": serializers.DictField(),
    "requested_by": serializers.DictField(),
    "created_at": serializers.DateTimeField(),
    "expires_at": serializers.DateTimeField(),
    "decided_at": serializers.DateTimeField(allow_null=True),
    "decided_by": serializers.CharField(allow_null=True),
    "comment": serializers.CharField(),
    "error": serializers.CharField(allow_null=True),
    "records": serializers.DictField(),
}
APPROVAL = inline_serializer("Approval", APPROVAL_FIELDS)
DECIDED = inline_serializer(
    "ApprovalDecided",
    {
        "status": serializers.ChoiceField(choices=["succeeded", "failed", "rejected"]),
        "approval": serializers.UUIDField(),
        "audit_record": serializers.UUIDField(),
        "decision_record": serializers.UUIDField(),
        "error": serializers.CharField(required=False),
    },
)
COMMENT = inline_serializer("ApprovalComment", {"comment": serializers.CharField(required=False)})


class ApprovalList(APIView):
    @extend_schema(
        summary="Requests for approval you may see (the 500 newest), by state",
        parameters=[OpenApiParameter("state", str, enum=STATES)],
        responses={200: inline_serializer("Approvals", APPROVAL_FIELDS, many=True), 400: ERROR},
    )
    def get(self, request: Request) -> Response:
        shown = requests.visible_to(request.user)
        state = request.query_params.get("state")
        if state is not None:
            if state not in STATES:
                raise exceptions.ValidationError({"state": f"must be one of {', '.join(STATES)}"})
            shown = shown.filter(state=state)
        return Response([approval.as_json() for approval in shown[:500]])


class ApprovalDetail(APIView):
    @extend_schema(
        summary="One request for approval; 404 for one you may not see",
        responses={200: APPROVAL, 404: ERROR},
    )
    def get(self, request: Request, approval_id) -> Response:
        approval = requests.visible_to(request.user).filter(pk=approval_id).first()
        if approval is None:
            raise exceptions.NotFound("no such request for approval")
        return Response(approval.as_json())


def _comment(request: Request) -> object:
    """The body's ``comment`` (None if absent); a body that does not parse is refused."""
    try:
        data = request.data
    except (exceptions.ParseError, exceptions.UnsupportedMediaType):
        return ["unreadable"]  # not text: refused, and recorded, as a bad comment
    return data.get("comment") if hasattr(data, "get") else ["not an object"]


def _answer(decided: Decided) -> Response:
    if decided.refused:
        body = error_body(decided.code, decided.error, decided.record.id)
        return Response(body, status=decided.http_status)
    outcome_record = decided.outcome.record if decided.outcome else decided.record
    body = {
        "status": decided.status,
        "approval": str(decided.approval.id),
        "audit_record": str(outcome_record.id) if outcome_record else None,
        "decision_record": str(decided.record.id),
    }
    if decided.outcome is not None and not decided.outcome.ok:
        body.update(error=decided.outcome.code, detail=decided.outcome.error)
    return Response(body)


class ApprovalApprove(APIView):
    decide = staticmethod(decisions.approve)

    @extend_schema(
        summary="Decide a request for approval (another admin allowed the action; recorded)",
        request=COMMENT,
        responses={200: DECIDED, 400: ERROR, 403: ERROR, 409: ERROR},
    )
    def post(self, request: Request, approval_id) -> Response:
        ctx = ctx_from_request(request, via="api")
        return _answer(self.decide(request.user, approval_id, comment=_comment(request), ctx=ctx))


class ApprovalReject(ApprovalApprove):
    decide = staticmethod(decisions.reject)
