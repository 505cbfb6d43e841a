"""The temporary-policy API: ``/api/rbac/temporary-policies/`` (admins).

POST grants (201 with the policy and its expiry), GET lists the active ones with their time
left, DELETE ``<id>/`` revokes one early. Each grant or revocation, refused ones too, is one
audit record (``rbac.signals``); errors are ``{"error", "detail"}``.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.api import error_body
from lib.errors import InvalidRequest, OperationError
from rbac import signals, temporary
from rbac.door import is_admin
from rbac.models import TemporaryPolicy
from rbac.roles import actor_for_user

ERROR = inline_serializer(
    "TemporaryPolicyError", {"error": serializers.CharField(), "detail": serializers.CharField()}
)
FIELDS = {
    "id": serializers.IntegerField(),
    "role": serializers.CharField(allow_null=True),
    "user": serializers.CharField(allow_null=True),
    "effect": serializers.CharField(),
    "actions": serializers.ListField(child=serializers.CharField()),
    "resource": serializers.ListField(child=serializers.CharField()),
    "reason": serializers.CharField(),
    "granted_by": serializers.CharField(),
    "expires_at": serializers.DateTimeField(),
    "revoked_at": serializers.DateTimeField(allow_null=True),
    "seconds_left": serializers.IntegerField(),
}
GRANT = inline_serializer(
    "TemporaryPolicyGrant",
    {
        "role": serializers.CharField(required=False),
        "user": serializers.CharField(required=False),
        "effect": serializers.ChoiceField(choices=["Allow", "Deny", "Stage"], default="Allow"),
        "actions": serializers.ListField(child=serializers.CharField()),
        "resource": serializers.ListField(child=serializers.CharField()),
        "duration_seconds": serializers.IntegerField(),
        "reason": serializers.CharField(),
    },
)


def policy_json(grant: TemporaryPolicy) -> dict:
    """A temporary policy as the API shows it: the record's ``snapshot()`` in snake_case,
    with its time left."""
    shown = {key.replace("-", "_"): value for key, value in grant.snapshot().items()}
    return {**shown, "seconds_left": temporary.seconds_left(grant)}


def _admin_only(request: Request) -> None:
    if not is_admin(request.user):
        raise temporary.Refused("only admins manage temporary policies")


def _body(request: Request) -> object:
    try:
        return request.data
    except (exceptions.ParseError, exceptions.UnsupportedMediaType) as exc:
        raise InvalidRequest(f"the body must be JSON: {exc.detail}") from exc


def _record(request: Request, event: str, before, after, error: OperationError | None) -> None:
    temporary.record_change(request, event, before, after, error, via="api")


def _refusal(error: OperationError) -> Response:
    return Response(error_body(error.code, error.message), status=error.status)


class TemporaryPolicyList(APIView):
    @extend_schema(
        summary="Active temporary policies (admins)",
        responses={200: inline_serializer("TemporaryPolicies", FIELDS, many=True), 403: ERROR},
    )
    def get(self, request: Request) -> Response:
        _admin_only(request)
        return Response([policy_json(grant) for grant in temporary.active()])

    @extend_schema(
        summary="Grant a temporary policy, capped in time and by your own rights (recorded)",
        request=GRANT,
        responses={201: inline_serializer("TemporaryPolicy", FIELDS), 400: ERROR, 403: ERROR},
    )
    def post(self, request: Request) -> Response:
        asked: object = None
        try:
            _admin_only(request)
            asked = _body(request)
            grant = temporary.grant(granter=actor_for_user(request.user), data=asked)
        except OperationError as error:
            shown = asked if isinstance(asked, dict) else {"body": asked}
            _record(request, signals.GRANT_TEMPORARY, None, shown, error)
            return _refusal(error)
        _record(request, signals.GRANT_TEMPORARY, None, grant.snapshot(), None)
        return Response(policy_json(grant), status=201)


class TemporaryPolicyDetail(APIView):
    @extend_schema(
        summary="Revoke a temporary policy (admins; recorded)",
        request=None,
        responses={200: inline_serializer("Revoked", FIELDS), 403: ERROR, 404: ERROR},
    )
    def delete(self, request: Request, pk: int) -> Response:
        try:
            _admin_only(request)
            grant = temporary.revoke(pk=pk, by=actor_for_user(request.user))
        except OperationError as error:
            _record(request, signals.REVOKE_TEMPORARY, {"id": pk}, None, error)
            return _refusal(error)
        _record(request, signals.REVOKE_TEMPORARY, grant.snapshot(), None, None)
        return Response(policy_json(grant))
