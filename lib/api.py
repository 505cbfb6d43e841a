"""The API's error envelope: every error any API view answers is ``{"error", "detail"}``."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from lib.errors import OperationError

log = logging.getLogger("flex.api")

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


def error_body(code: str, detail: str, audit_record: object = None) -> dict:
    body = {"error": code, "detail": detail}
    if audit_record is not None:
        body["audit_record"] = str(audit_record)
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
    elif isinstance(exc, PermissionDenied):  # Django's (Refused included), turned into DRF's
        code = "denied"
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
