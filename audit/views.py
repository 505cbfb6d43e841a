"""Settings › Audit log and User log: the list, the record page and the CSV export.

Both logs are the same page over a different scope: every record (admins and
auditors) or the signed-in user's own. The scope is chosen here, once; filters
from the query string only narrow it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.settings import api_settings

from audit import activity, chain, events, export, ledger, outbox, queries
from audit.gate import AuditUnavailable, ctx_from_request, record_event
from audit.models import AuditRecord
from rbac.actions import CATALOGUE
from rbac.door import can_read_audit_log
from rbac.engine import current_policy_set
from rbac.models import Policy
from rbac.roles import actor_for_user, decision_roles, profile_for, roles_for_user
from rbac.temporary import active_for, seconds_left

# What apps above audit add to a user's own log page: name -> user -> rows (approvals adds
# the user's pending requests). audit imports none of them.
USER_LOG_PANELS: dict[str, Callable[[Any], list]] = {}

EXPORT_EVENT = "query/export-audit-log"


@dataclass(frozen=True)
class Scope:
    """Which log a page shows, and the URL names of its pages."""

    key: str
    title: str
    list_url: str
    record_url: str
    export_url: str
    all_users: bool


AUDIT_LOG = Scope("audit-log", "Audit log", "audit-log", "audit-record", "audit-log-export", True)
USER_LOG = Scope("user-log", "User log", "user-log", "user-record", "user-log-export", False)


def records_for_user(user) -> QuerySet:
    """Only the records the user made (matched on their Flex id, never on a login)."""
    return AuditRecord.objects.filter(flex_user_id=profile_for(user).flex_id)


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "audit/forbidden.html", status=403)


@require_GET
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not can_read_audit_log(request.user):
        return _forbidden(request)
    return _log_page(request, AUDIT_LOG, AuditRecord.objects.all(), {"logins": logins()})


def logins() -> list[str]:
    """Who may be looked for, for the login field's suggestions: every account's login."""
    named = get_user_model().objects.annotate(
        shown=Coalesce(NullIf("flex_profile__login", Value("")), "username")
    )
    return list(named.order_by("shown").values_list("shown", flat=True).distinct()[:1000])


@require_GET
@login_required
def user_log(request: HttpRequest) -> HttpResponse:
    roles = roles_for_user(request.user)
    extra = {"roles": roles, "policies": policies_for_roles(roles)}
    grants = active_for(decision_roles(request.user))
    extra["grants"] = [{"grant": grant, "left": seconds_left(grant)} for grant in grants]
    extra.update({name: panel(request.user) for name, panel in USER_LOG_PANELS.items()})
    return _log_page(request, USER_LOG, records_for_user(request.user), extra)


def policies_for_roles(roles: list[str]) -> list[Policy]:
    """The enabled policies a holder of ``roles`` is subject to (as the engine matches them)."""
    ids = [p.id for p in current_policy_set().policies_for(roles)]
    found = Policy.objects.in_bulk(ids)
    return [found[i] for i in ids if i in found]


def _log_page(
    request: HttpRequest, scope: Scope, records: QuerySet, extra: dict | None = None
) -> HttpResponse:
    window = queries.audit_window()
    form = queries.parse_filters(request.GET, window=window)
    context = {
        "scope": scope,
        "form": form,
        "window": window,
        "actions": CATALOGUE,
        "types": events.TYPES,
        "events": events.known(),
        "ranges": [(key, label) for key, (label, _) in queries.RANGES.items()],
        "outcomes": [value for value, _ in AuditRecord.OUTCOMES],
        **(extra or {}),
    }
    if not form.is_valid():
        return render(request, "audit/log.html", context, status=400)
    matching = queries.records_matching(records, form)
    page = queries.page_of(queries.with_error(matching), form.cleaned_data["after"])
    filters = queries.active_filters(form)
    context.update(
        page=page,
        rows=list_rows(page.rows, reverse(scope.list_url)),
        chart=activity.chart_for(records, form),
        filters=filters,
        filters_query=urlencode(filters),
        filters_query_no_range=urlencode({k: v for k, v in filters.items() if k != "range"}),
        paged=form.cleaned_data["after"] is not None,
    )
    return render(request, "audit/log.html", context)


def list_rows(records: list[AuditRecord], list_url: str) -> list[dict]:
    """What a list row shows, prepared here: 50 rows of template lookups and URL reversals
    are most of a page's time."""
    return [
        {
            "url": f"{list_url}{record.id}/",
            "ts": record.ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:23],
            "login": record.login,
            "event": record.event,
            "action": record.action,
            "resource": record.resource_name,
            "cluster": record.cluster_id,
            "outcome": record.outcome,
            "error": getattr(record, "error", None) or "",
        }
        for record in records
    ]


@require_GET
@login_required
def audit_record(request: HttpRequest, record_id) -> HttpResponse:
    if not can_read_audit_log(request.user):
        return _forbidden(request)
    return _record_page(request, AUDIT_LOG, AuditRecord.objects.all(), record_id)


@require_GET
@login_required
def user_record(request: HttpRequest, record_id) -> HttpResponse:
    return _record_page(request, USER_LOG, records_for_user(request.user), record_id)


def _record_page(request: HttpRequest, scope: Scope, records: QuerySet, record_id) -> HttpResponse:
    record = records.filter(id=record_id).first()
    if record is None:
        raise Http404("No such audit record.")
    return render(request, "audit/record.html", {"scope": scope, **record_context(record)})


def record_context(record: AuditRecord) -> dict:
    """The record split into the parts the record page shows, JSON pretty-printed."""
    document = record.document if isinstance(record.document, dict) else {}
    data = document.get("data") or {}
    event = data.get("event") or []
    rbac = data.get("rbac")
    return {
        "record": record,
        "user_json": _pretty(data.get("user")),
        "request_json": _pretty(event[1] if len(event) > 1 else None),
        "response": data.get("response") or {},
        "response_json": _pretty(data.get("response")),
        "rbac": rbac,
        "rbac_success": bool((rbac or {}).get("success?")),
        "policies": [_pretty(p) for p in (rbac or {}).get("policies", [])],
        "ctx": {k.replace("-", "_"): v for k, v in (document.get("ctx") or {}).items()},
        "document_json": _pretty(document),
        "delivery": state_rows(delivery_state(record)),
        "chain": state_rows(chain_state(record)),
        "ledger": ledger.inclusion_for(record),
    }


def state_rows(state: object) -> list[tuple[str, str]] | None:
    """A state as (label, text) rows for the page; None when it is not available.

    Delivery comes as one dict per sink, the chain as a sentence; anything else shows as JSON.
    """
    if state is None:
        return None
    if isinstance(state, str):
        return [("", state)]
    if isinstance(state, list) and all(isinstance(row, dict) for row in state):
        return [(str(row.get("sink", "")), _sink_summary(row)) for row in state]
    if isinstance(state, dict):
        return [(str(k), v if isinstance(v, str) else _pretty(v)) for k, v in state.items()]
    return [("", _pretty(state))]


def _sink_summary(row: dict) -> str:
    attempts = row.get("attempts", 0)
    text = f"{row.get('status', '?')} after {attempts} attempt{'s' if attempts != 1 else ''}"
    if row.get("delivered_at"):
        text += f", at {_when(row['delivered_at'])}"
    elif row.get("status") == "pending" and row.get("next_attempt_at"):
        text += f", next at {_when(row['next_attempt_at'])}"
    if row.get("last_error"):
        text += f" — {row['last_error']}"
    return text


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def delivery_state(record: AuditRecord) -> list[dict]:
    """Where the record stands with each sink."""
    return outbox.state_for([record.id]).get(record.id, [])


def chain_state(record: AuditRecord) -> str:
    """The record's place in the chain: ``sealed #n``, ``unsealed`` or ``refused: …``."""
    return chain.state_for([record])[record.id]


def token_or_session(view: Callable) -> Callable:
    """A CSV export is often fetched by a script: ``Authorization: Token …`` (the API's tokens)
    signs the request in, a bad token is a 401; without the header, the session as anywhere."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        tokens = api_settings.DEFAULT_AUTHENTICATION_CLASSES[0]()  # the API's, listed first
        try:
            found = tokens.authenticate(request)
        except AuthenticationFailed as exc:
            response = HttpResponse(f"{exc.detail}\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = tokens.authenticate_header(request)
            return response
        if found is not None:
            request.user, request.flex_via = found[0], "api"
        return login_required(view)(request, *args, **kwargs)

    return wrapper


@require_GET
@token_or_session
def audit_log_export(request: HttpRequest) -> HttpResponse:
    if not can_read_audit_log(request.user):
        return _forbidden(request)
    return _export(request, AUDIT_LOG, AuditRecord.objects.all())


@require_GET
@token_or_session
def user_log_export(request: HttpRequest) -> HttpResponse:
    return _export(request, USER_LOG, records_for_user(request.user))


def _export(request: HttpRequest, scope: Scope, records: QuerySet) -> HttpResponse:
    """Count with the filters, record the export, then stream exactly those rows.

    The rows are bounded above by the moment of the request, so records written
    while the file streams (this export's own record too) are not in it.
    """
    window = queries.audit_window()
    form = queries.parse_filters(request.GET, window=window)
    if not form.is_valid():
        return render(
            request,
            "audit/export_error.html",
            {"scope": scope, "form": form},
            status=400,
        )
    matching = queries.records_matching(records, form).filter(ts__lt=_ms_floor(window.now))
    count = matching.count()
    try:
        record_event(
            actor=actor_for_user(request.user),
            type="query/request",
            event=EXPORT_EVENT,
            request={"log": scope.key, "filters": queries.active_filters(form), "row-count": count},
            ctx=ctx_from_request(request, via=getattr(request, "flex_via", "ui")),
        )
    except AuditUnavailable as exc:  # no export leaves unrecorded
        context = {"scope": scope, "form": form, "message": exc.message}
        return render(request, "audit/export_error.html", context, status=503)
    response = StreamingHttpResponse(
        export.stream_csv(matching), content_type="text/csv; charset=utf-8"
    )
    stamp = window.now.strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="flex-{scope.key}-{stamp}.csv"'
    response["X-Row-Count"] = str(count)
    return response


def _ms_floor(moment: datetime) -> datetime:
    """Records carry millisecond timestamps: a strict bound at this millisecond excludes
    everything written from now on."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
