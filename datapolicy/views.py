"""The data-policy sandbox (a Settings page and ``POST /api/data-policies/preview``),
for admins. Neither changes anything; each POST leaves exactly one audit record
(``query/preview-data-policy``), refused and invalid ones too.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
)
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from datapolicy.forms import SandboxForm
from datapolicy.preview import preview
from datapolicy.recording import preview_recorded
from lib.parsers import JSONParser
from lib.schema import error
from rbac.door import is_admin

FIELDS = ("cluster", "topic", "roles", "key", "value", "headers")


@login_required
@require_http_methods(["GET", "POST"])
def sandbox(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        if request.method == "POST":
            preview_recorded(request, via="ui", query={}, status="denied", error="admins only")
        return render(request, "rbac/forbidden.html", status=403)
    if request.method == "GET":
        return render(request, "datapolicy/sandbox.html", {"form": SandboxForm()})
    form = SandboxForm(request.POST)
    if not form.is_valid():
        error = "; ".join(f"{f}: {e}" for f, items in form.errors.items() for e in items)
        preview_recorded(
            request,
            via="ui",
            query={"topic": request.POST.get("topic", "")},
            status="failed",
            error=error,
        )
        return render(request, "datapolicy/sandbox.html", {"form": form}, status=400)
    done = preview(**{name: form.cleaned_data[name] for name in FIELDS})
    preview_recorded(request, via="ui", query=done.query)
    return render(request, "datapolicy/sandbox.html", {"form": form, "result": done.result})


class PreviewSerializer(serializers.Serializer):
    """``{"topic", "roles", "key", "value", "headers", "cluster"}``."""

    cluster = serializers.CharField(required=False, allow_blank=True, default="")
    topic = serializers.CharField(max_length=249)
    roles = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    key = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False, default=None
    )
    value = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False, default=None
    )
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=dict,
    )


class PreviewResultSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="the key as this reader would see it")
    value = serializers.CharField(allow_null=True)
    headers = serializers.DictField(child=serializers.CharField(allow_null=True))
    masked = serializers.ListField(
        child=serializers.DictField(), help_text='each masked field: {"part", "path", "policy"}'
    )
    policies = serializers.ListField(
        child=serializers.DictField(), help_text="the data policies that applied"
    )
    unmasked = serializers.BooleanField(help_text="an unmask role showed something clear")
    audit_record = serializers.UUIDField()


PREVIEW_ERRORS = {
    400: error("the body is not JSON, or a field is wrong", "invalid_body", "topic: required"),
    401: error("not signed in", "not_authenticated", "sign in or send an API token"),
    403: error("not an admin", "forbidden", "only admins may preview data policies"),
}


def _error(code: str, detail: str, status: int) -> Response:
    return Response({"error": code, "detail": detail}, status=status)


def _first_error(errors: dict) -> str:
    field, messages = next(iter(errors.items()))
    if isinstance(messages, dict):
        messages = [f"item {key}: {value[0]}" for key, value in messages.items()]
    return f"{field}: {messages[0]}"


@extend_schema(
    summary="Mask a pasted message as a reader with the given roles would see it (admins)",
    request=PreviewSerializer,
    responses={200: PreviewResultSerializer, **PREVIEW_ERRORS},
)
@api_view(["POST"])
@parser_classes([JSONParser])
@authentication_classes(api_settings.DEFAULT_AUTHENTICATION_CLASSES)
@permission_classes([])
def preview_api(request: Request) -> Response:
    """Mask a message as a reader holding ``roles`` would see it (admins only)."""
    if not request.user.is_authenticated:
        return _error("not_authenticated", "sign in or send an API token", 401)
    if not is_admin(request.user):
        preview_recorded(request, via="api", query={}, status="denied", error="admins only")
        return _error("forbidden", "only admins may preview data policies", 403)
    try:
        body = request.data
    except (ParseError, UnsupportedMediaType) as exc:
        detail = f"the body must be JSON (Content-Type: application/json): {exc.detail}"
        preview_recorded(request, via="api", query={}, status="failed", error=detail)
        return _error("invalid_json", detail, 400)
    serializer = PreviewSerializer(data=body if isinstance(body, dict) else {"body": body})
    if not isinstance(body, dict) or not serializer.is_valid():
        detail = (
            "the body must be a JSON object"
            if not isinstance(body, dict)
            else _first_error(serializer.errors)
        )
        preview_recorded(request, via="api", query={}, status="failed", error=detail)
        return _error("invalid_body", detail, 400)
    done = preview(**{name: serializer.validated_data[name] for name in FIELDS})
    record = preview_recorded(request, via="api", query=done.query)
    return Response({**done.result, "audit_record": str(record.id)})
