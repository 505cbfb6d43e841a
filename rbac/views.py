"""The policy simulator (a page and ``POST /api/rbac/decide``), for admins.

Both call ``rbac.engine.decide`` to show a decision; neither changes anything. Each POST leaves
exactly one audit record (``query/simulate-policy``) through the ``policy_simulated``
signal, which audit records (rbac does not import audit).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema, inline_serializer
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

from lib.parsers import JSONParser
from rbac import engine
from rbac.actions import CATALOGUE, FLEX_ACTIONS
from rbac.door import is_admin
from rbac.engine import Decision
from rbac.forms import SimulateForm
from rbac.roles import roles_for_user
from rbac.signals import send_policy_simulated
from rbac.validation import target_errors


@login_required
@require_http_methods(["GET", "POST"])
def policy_simulate(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        if request.method == "POST":
            _signal(request, "ui", _raw_query(request.POST), "denied", "admins only")
        return render(request, "rbac/forbidden.html", status=403)
    if request.method == "GET":
        form = SimulateForm(initial={"action": FLEX_ACTIONS[0]})
        return render(request, "rbac/simulate.html", {"form": form})
    form = SimulateForm(request.POST)
    if not form.is_valid():
        _signal(request, "ui", _raw_query(request.POST), "failed", _form_error(form))
        return render(request, "rbac/simulate.html", {"form": form}, status=400)
    data = form.cleaned_data
    roles = simulated_roles(data["user"], data["roles"])
    decision = engine.decide(roles, data["action"], data["resource"])
    query = {
        "user": data["user"].get_username() if data["user"] else None,
        "roles": roles,
        "action": data["action"],
        "resource": data["resource"],
        "success?": decision.success,
    }
    _signal(request, "ui", query, "succeeded", None)
    context = {"form": form, "decision": decision, "roles": roles, "rows": decision_rows(decision)}
    context["resource"] = data["resource"]
    return render(request, "rbac/simulate.html", context)


def simulated_roles(user, typed: list[str]) -> list[str]:
    """The chosen user's roles followed by the typed ones, without repeats."""
    roles = roles_for_user(user) if user else []
    return list(dict.fromkeys([*roles, *typed]))


def decision_rows(decision: Decision) -> list[dict]:
    """Each matching policy with its admin link and whether it decided."""
    decided = decision.decided_index
    rows = []
    for index, record in enumerate(decision.policies):
        policy_id = decision.policy_ids[index] if index < len(decision.policy_ids) else None
        url = _change_url(policy_id)
        rows.append({"record": record, "id": policy_id, "url": url, "decided": index == decided})
    return rows


def _change_url(policy_id: int | None) -> str | None:
    if policy_id is None:
        return None
    try:
        return reverse("admin:rbac_policy_change", args=[policy_id])
    except NoReverseMatch:
        return None


def _raw_query(post) -> dict:
    return {key: post.get(key, "") for key in ("user", "roles", "action", "cluster", "topic")}


def _form_error(form: SimulateForm) -> str:
    parts = []
    for field, errors in form.errors.items():
        label = "resource" if field == "__all__" else field
        parts += [f"{label}: {error}" for error in errors]
    return "; ".join(parts)


def _signal(request, via: str, query: dict, status: str, error: str | None) -> None:
    send_policy_simulated(
        user=request.user, request=request, via=via, query=query, status=status, error=error
    )


class DecideSerializer(serializers.Serializer):
    """``{"roles": [...], "action": "...", "resource": [...]}``."""

    roles = serializers.ListField(child=serializers.CharField(), allow_empty=True)
    action = serializers.ChoiceField(choices=list(CATALOGUE))
    resource = serializers.ListField(child=serializers.CharField())

    def validate_resource(self, value: list[str]) -> list[str]:
        problems = target_errors(value)
        if problems:
            raise serializers.ValidationError(problems)
        return value


def _error(code: str, detail: str, status: int) -> Response:
    return Response({"error": code, "detail": detail}, status=status)


def _first_error(errors: dict) -> tuple[str, str]:
    field, messages = next(iter(errors.items()))
    if isinstance(messages, dict):  # a list field reports errors by item index
        messages = [f"item {key}: {value[0]}" for key, value in messages.items()]
    if field == api_settings.NON_FIELD_ERRORS_KEY:
        return "invalid_body", f"the body must be a JSON object: {messages[0]}"
    return f"invalid_{field}", f"{field}: {messages[0]}"


ERROR_SCHEMA = inline_serializer(
    "RbacError", {"error": serializers.CharField(), "detail": serializers.CharField()}
)
DECISION_SCHEMA = inline_serializer(
    "RbacDecision",
    {
        "success?": serializers.BooleanField(),
        "allowed": serializers.BooleanField(),
        "action": serializers.CharField(),
        "policies": serializers.ListField(child=serializers.DictField()),
        "decided_by": serializers.DictField(allow_null=True),
        "policy_ids": serializers.ListField(child=serializers.IntegerField()),
        "roles": serializers.ListField(child=serializers.CharField()),
        "resource": serializers.ListField(child=serializers.CharField()),
    },
)


@extend_schema(
    summary="Simulate a decision: would these roles be allowed this action here? (admins)",
    request=DecideSerializer,
    responses={200: DECISION_SCHEMA, 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 403: ERROR_SCHEMA},
)
@api_view(["POST"])
@parser_classes([JSONParser])
@authentication_classes(api_settings.DEFAULT_AUTHENTICATION_CLASSES)
@permission_classes([])
def decide_api(request: Request) -> Response:
    """Decide as the RBAC engine would, for the given roles, action and resource (admins only)."""
    if not request.user.is_authenticated:
        return _error("not_authenticated", "sign in or send an API token", 401)
    if not is_admin(request.user):
        _signal(request, "api", _body_or_empty(request), "denied", "admins only")
        return _error("forbidden", "only admins may simulate policies", 403)
    try:
        body = request.data
    except (ParseError, UnsupportedMediaType) as exc:
        detail = f"the body must be JSON (Content-Type: application/json): {exc.detail}"
        _signal(request, "api", {}, "failed", detail)
        return _error("invalid_json", detail, 400)
    query = body if isinstance(body, dict) else {"body": body}
    serializer = DecideSerializer(data=body)
    if not serializer.is_valid():
        code, detail = _first_error(serializer.errors)
        _signal(request, "api", query, "failed", detail)
        return _error(code, detail, 400)
    data = serializer.validated_data
    decision = engine.decide(data["roles"], data["action"], data["resource"])
    _signal(request, "api", {**data, "success?": decision.success}, "succeeded", None)
    return Response(decision_json(decision, data["roles"], data["resource"]))


def _body_or_empty(request: Request) -> dict:
    try:
        body = request.data
    except (ParseError, UnsupportedMediaType):
        return {}
    return body if isinstance(body, dict) else {"body": body}


def decision_json(decision: Decision, roles: list[str], resource: list[str]) -> dict:
    return {
        **decision.as_record(),
        "allowed": decision.success,
        "roles": roles,
        "resource": resource,
        "decided_by": decision.decided_by,
        "policy_ids": list(decision.policy_ids),
    }
