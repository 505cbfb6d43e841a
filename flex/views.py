from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from flex.health import health


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health()
    failing = [name for name, result in checks.items() if not result["ok"]]
    body = {
        "status": "ok" if not failing else "unavailable",
        "failing": failing,
        **checks,
    }
    return JsonResponse(body, status=200 if not failing else 503)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("cluster-list")
