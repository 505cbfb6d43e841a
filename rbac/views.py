"""The policy simulator (a page and ``POST /api/rbac/decide``) and the temporary policies
page of Settings › Policies, for admins.

The simulator calls ``rbac.engine.decide`` to show a decision; it changes nothing. Each POST
leaves exactly one audit record (``query/simulate-policy``) through the ``policy_simulated``
signal, which audit records (rbac does not import audit); a grant or revocation made on the
temporary policies page leaves one through ``policy_changed``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST
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

from lib.errors import OperationError
from lib.parsers import JSONParser
from rbac import engine, signals, temporary
from rbac.actions import CATALOGUE, FLEX_ACTIONS
from rbac.door import is_admin
from rbac.engine import Decision
from rbac.forms import ListField, SimulateForm
from rbac.roles import actor_for_user, decision_roles
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
        return render(request, "rbac/simulate.html", {"form": form, "temporaries": _active()})
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
        "effect": decision.effect,
    }
    _signal(request, "ui", query, "succeeded", None)
    context = {"form": form, "decision": decision, "roles": roles, "rows": decision_rows(decision)}
    context.update(resource=data["resource"], verdict=verdict(decision), temporaries=_active())
    return render(request, "rbac/simulate.html", context)


def _active() -> list[dict]:
    return [{"grant": g, "left": temporary.seconds_left(g)} for g in temporary.active()]


def verdict(decision: Decision) -> str:
    """allowed, staged (sent for approval) or denied."""
    if decision.success:
        return "allowed"
    return "staged" if decision.effect == "Stage" else "denied"


def simulated_roles(user, typed: list[str]) -> list[str]:
    """The chosen user's roles (their own ``user:LOGIN`` too) then the typed ones, once each."""
    roles = decision_roles(user) if user else []
    return list(dict.fromkeys([*roles, *typed]))


def decision_rows(decision: Decision) -> list[dict]:
    """Each matching policy with its admin link and whether it decided."""
    decided = decision.decided_index
    rows = []
    for index, record in enumerate(decision.policies):
        policy_id = decision.policy_ids[index] if index < len(decision.policy_ids) else None
        url = _change_url(policy_id)
        row = {"record": record, "id": policy_id, "url": url, "decided": index == decided}
        row.update(temporary=record.get("temporary-policy"), expires=record.get("expires-at"))
        rows.append(row)
    return rows


def _change_url(policy_id: int | None) -> str | None:
    if policy_id is None:
        return None
    try:
        return reverse("admin:rbac_policy_change", args=[policy_id])
    except NoReverseMatch:
        return None


def _raw_query(post) -> dict:
    keys = ("user", "roles", "action", "cluster", "topic", "group")
    return {key: post.get(key, "") for key in keys}


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
        "effect": serializers.ChoiceField(choices=["Allow", "Deny", "Stage"], allow_null=True),
        "action": serializers.CharField(),
        "policies": serializers.ListField(child=serializers.DictField()),
        "decided_by": serializers.DictField(allow_null=True),
        "policy_ids": serializers.ListField(child=serializers.IntegerField(allow_null=True)),
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
    query = {**data, "success?": decision.success, "effect": decision.effect}
    _signal(request, "api", query, "succeeded", None)
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
        "effect": decision.effect or "Deny",
        "roles": roles,
        "resource": resource,
        "decided_by": decision.decided_by,
        "policy_ids": list(decision.policy_ids),
    }


# Settings › Policies › Temporary policies -----------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def temporary_policies(request: HttpRequest) -> HttpResponse:
    """The active temporary policies, and the form that grants one."""
    error = None
    if request.method == "POST":
        error = _grant_from_form(request)
        if error is None:
            return redirect("temporary-policies")
    elif not is_admin(request.user):
        return render(request, "rbac/forbidden.html", status=403)
    context = {"rows": _active(), "error": error, "actions": FLEX_ACTIONS, "posted": request.POST}
    return render(request, "rbac/temporary.html", context, status=error.status if error else 200)


def _grant_from_form(request: HttpRequest) -> OperationError | None:
    post, lists = request.POST, ListField()
    data: dict = {
        post.get("holder_kind") if post.get("holder_kind") in ("role", "user") else "role": (
            post.get("holder", "")
        ),
        "effect": post.get("effect", "Allow"),
        "actions": post.getlist("actions"),
        "resource": lists.to_python(post.get("resource", "")),
        "reason": post.get("reason", ""),
    }
    seconds = post.get("duration_seconds", "")
    data["duration_seconds"] = int(seconds) if seconds.isdigit() else seconds
    try:
        if not is_admin(request.user):
            raise temporary.Refused("only admins manage temporary policies")
        grant = temporary.grant(granter=actor_for_user(request.user), data=data)
    except OperationError as error:
        temporary.record_change(request, signals.GRANT_TEMPORARY, None, data, error, via="ui")
        return error
    temporary.record_change(
        request, signals.GRANT_TEMPORARY, None, grant.snapshot(), None, via="ui"
    )
    messages.success(request, f"Granted until {grant.expires_at:%Y-%m-%d %H:%M:%S} UTC.")
    return None


@login_required
@require_POST
def temporary_policy_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        if not is_admin(request.user):
            raise temporary.Refused("only admins manage temporary policies")
        grant = temporary.revoke(pk=pk, by=actor_for_user(request.user))
    except OperationError as error:
        temporary.record_change(
            request, signals.REVOKE_TEMPORARY, {"id": pk}, None, error, via="ui"
        )
        messages.error(request, error.message)
        return redirect("temporary-policies")
    temporary.record_change(
        request, signals.REVOKE_TEMPORARY, grant.snapshot(), None, None, via="ui"
    )
    messages.success(request, f"Temporary policy {pk} revoked.")
    return redirect("temporary-policies")
