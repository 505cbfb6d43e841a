from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from flex import tokens
from flex.health import READY_CHECKS, health


def _checked(checks: dict[str, dict]) -> JsonResponse:
    failing = [name for name, result in checks.items() if not result["ok"]]
    body = {
        "status": "ok" if not failing else "unavailable",
        "failing": failing,
        **checks,
    }
    return JsonResponse(body, status=200 if not failing else 503)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return _checked(health())


@require_GET
@never_cache
def livez(request: HttpRequest) -> JsonResponse:
    """The process answers; nothing else is checked (a restart would not mend a dependency)."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: database, Kafka, task queue, and the outbox backlog under its limit."""
    return _checked(health(READY_CHECKS))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("cluster-list")


@login_required
@require_http_methods(["GET", "POST"])
def token_settings(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens: make one (shown once, here), revoke one."""
    created = outcome = None
    if request.method == "POST" and "revoke" in request.POST:
        token_id = request.POST["revoke"]
        outcome = tokens.token_revoke(
            request, token_id=int(token_id) if token_id.isdigit() else 0, via="ui"
        )
    elif request.method == "POST":
        outcome = tokens.token_create(request, name=request.POST.get("name"), via="ui")
        created = outcome.result if outcome.ok else None
    if outcome is None:
        listed = tokens.token_list(request, via="ui").result or []
    else:  # the action's record is this request's one record
        listed = tokens.tokens_of(request.user)
    context = {
        "tokens": listed,
        "created": created,
        "outcome": outcome,
        "ttl_days": settings.FLEX_TOKEN_TTL_DAYS,
        "now": timezone.now(),
    }
    status = outcome.http_status if outcome and not outcome.ok else 200
    return render(request, "tokens.html", context, status=status)
