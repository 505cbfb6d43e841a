"""``/api/tokens/``: a user's own API tokens (flex/tokens.py does the work)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.gate import Outcome
from flex import tokens
from lib.api import error_body
from lib.schema import NOT_SIGNED_IN, error


def _answer(outcome: Outcome, body: dict | None = None, ok_status: int = 200) -> Response:
    record = str(outcome.record.id) if outcome.record else None
    if not outcome.ok:
        detail = error_body(outcome.code or "failed", outcome.error or "failed", record)
        return Response(detail, status=outcome.http_status)
    return Response({**(body or {}), "audit_record": record}, status=ok_status)


def _name(request: Request) -> object:
    try:
        data = request.data
    except (exceptions.ParseError, exceptions.UnsupportedMediaType):
        return None  # recorded as a refused creation: a name is needed
    return data.get("name") if hasattr(data, "get") else None


TOKEN = inline_serializer(
    "ApiToken",
    {
        "id": serializers.IntegerField(),
        "name": serializers.CharField(),
        "prefix": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "expires_at": serializers.DateTimeField(),
        "last_used_at": serializers.DateTimeField(allow_null=True),
        "expired": serializers.BooleanField(),
    },
)
LISTED = inline_serializer(
    "ApiTokenList", {"tokens": TOKEN.__class__(many=True), "audit_record": serializers.UUIDField()}
)
CREATE = inline_serializer("ApiTokenCreate", {"name": serializers.CharField(max_length=100)})
CREATED = inline_serializer(
    "ApiTokenCreated",
    {
        "id": serializers.IntegerField(),
        "name": serializers.CharField(),
        "token": serializers.CharField(help_text="shown this once only"),
        "expires_at": serializers.DateTimeField(),
        "audit_record": serializers.UUIDField(),
    },
)
REVOKED = inline_serializer(
    "ApiTokenRevoked",
    {
        "id": serializers.IntegerField(),
        "revoked": serializers.BooleanField(),
        "audit_record": serializers.UUIDField(),
    },
)


class TokenListView(APIView):
    @extend_schema(
        summary="Your API tokens (no secrets)", responses={200: LISTED, 401: NOT_SIGNED_IN}
    )
    def get(self, request: Request) -> Response:
        outcome = tokens.token_list(request, via="api")
        body = {"tokens": [tokens.token_json(t) for t in outcome.result or []]}
        return _answer(outcome, body)

    @extend_schema(
        summary="Make an API token: the only time it is shown",
        request=CREATE,
        responses={
            201: CREATED,
            400: error("a name is needed (at most 100 characters)", "invalid_request", "name"),
            401: NOT_SIGNED_IN,
        },
    )
    def post(self, request: Request) -> Response:
        outcome = tokens.token_create(request, name=_name(request), via="api")
        if not outcome.ok:
            return _answer(outcome)
        token, secret = outcome.result
        body = {"id": token.pk, "token": secret, "expires_at": token.expires_at.isoformat()}
        return _answer(outcome, {**body, "name": token.name}, ok_status=201)


class TokenDetailView(APIView):
    @extend_schema(
        summary="Revoke one of your API tokens",
        responses={
            200: REVOKED,
            401: NOT_SIGNED_IN,
            404: error("no such token of yours", "not_found", "no such token"),
        },
    )
    def delete(self, request: Request, token_id: int) -> Response:
        outcome = tokens.token_revoke(request, token_id=token_id, via="api")
        return _answer(outcome, {"id": token_id, "revoked": True})
