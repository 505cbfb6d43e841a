"""Settings › Approvals: the requests a user may see, one request, and deciding it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from approvals import decisions, requests
from approvals.models import Approval
from audit.gate import ctx_from_request

STATES = [state for state, _ in Approval.STATES]


@require_GET
@login_required
def approval_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "pending")
    shown = requests.visible_to(request.user)
    if state in STATES:
        shown = shown.filter(state=state)
    context = {"approvals": shown[:200], "state": state, "states": STATES}
    return render(request, "approvals/list.html", context)


@require_GET
@login_required
def approval_detail(request: HttpRequest, approval_id) -> HttpResponse:
    approval = requests.visible_to(request.user).filter(pk=approval_id).first()
    if approval is None:
        raise Http404("no such request for approval")
    return render(request, "approvals/detail.html", {"approval": approval})


@require_POST
@login_required
def approval_approve(request: HttpRequest, approval_id) -> HttpResponse:
    return _decide(request, approval_id, decisions.approve)


@require_POST
@login_required
def approval_reject(request: HttpRequest, approval_id) -> HttpResponse:
    return _decide(request, approval_id, decisions.reject)


def _decide(request: HttpRequest, approval_id, decide) -> HttpResponse:
    ctx = ctx_from_request(request, via="ui")
    decided = decide(request.user, approval_id, comment=request.POST.get("comment"), ctx=ctx)
    if decided.refused:
        messages.error(request, f"Refused ({decided.code}): {decided.error}")
    elif decided.status == "rejected":
        messages.success(request, "Request rejected.")
    elif decided.outcome.ok:
        messages.success(request, "Request approved; it ran and succeeded.")
    else:
        messages.error(request, f"Request approved; it ran and failed: {decided.outcome.error}")
    if decided.approval is None:
        return redirect("approval-list")
    return redirect("approval-detail", approval_id=decided.approval.id)
