"""What every API's OpenAPI description shares: the error envelope and its examples."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every error any API answers (``lib.api.error_body``)."""

    error = serializers.CharField(help_text="machine-readable code, e.g. topic_exists")
    detail = serializers.CharField(help_text="what went wrong, for a person")
    audit_record = serializers.UUIDField(
        required=False, help_text="the audit record the refused or failed operation left"
    )


def error(description: str, code: str, detail: str) -> OpenApiResponse:
    """An error answer with one example of its body."""
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(code, value={"error": code, "detail": detail})],
    )


NOT_SIGNED_IN = error(
    "not signed in: no session and no valid `Authorization: Token …` (with `WWW-Authenticate`)",
    "not_authenticated",
    "Authentication credentials were not provided.",
)
