"""Consumer-group pages: the list, a group's offsets and lag, resetting and deleting.

Looking needs only one of ``authorized_roles`` (the read model); a reset (its preview
included) and a deletion are operations the gate decides and records. The reset form
previews the plan (a dry run, recorded) and asks to confirm before it applies it.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods

from lib.errors import OperationError
from topics import group_operations, group_validation, operations, reads
from topics.forms import ConfirmGroupForm, GroupResetForm, bound
from topics.operations import Target
from topics.views import (
    authorized,
    checked_post,
    handles_oversized,
    is_staged,
    known_target,
    render_page,
    sent_for_approval,
    stand_in,
)


def _group_context(request: HttpRequest, where: Target, group: str) -> dict:
    return {
        "cluster": where.cluster or stand_in(where),
        "group": group,
        "can": reads.group_controls(request.user, where, group),
    }


@require_GET
@authorized
def group_list(request: HttpRequest, cluster: str) -> HttpResponse:
    where = known_target(cluster)
    if cluster != where.id:
        return redirect("group-list", cluster=where.id)
    query = request.GET.get("q", "").strip()
    sort = request.GET.get("sort") if request.GET.get("sort") in reads.GROUP_SORTS else "group_id"
    context = {"cluster": where.cluster, "q": query, "sort": sort}
    try:
        context["groups"] = reads.groups(where.cluster, query=query, sort=sort)
    except OperationError as exc:
        return render_page(
            request, "group_list.html", {**context, "error": exc.message}, exc.status
        )
    return render_page(request, "group_list.html", context)


@require_GET
@authorized
def group_detail(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
    where = known_target(cluster)
    if cluster != where.id:
        return redirect("group-detail", cluster=where.id, group=group)
    context = _group_context(request, where, group)
    try:
        context["detail"] = reads.group(where.cluster, group)
    except OperationError as exc:
        return render_page(
            request, "group_detail.html", {**context, "error": exc.message}, exc.status
        )
    return render_page(request, "group_detail.html", context)


@handles_oversized
@require_http_methods(["GET", "POST"])
@authorized
def group_reset(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
    """GET: the form. POST with ``dry_run`` 1 (Preview): the plan to confirm; 0: apply it."""
    where = operations.target(cluster)
    context = _group_context(request, where, group)
    if request.method == "GET":
        form = GroupResetForm(initial={"topic": request.GET.get("topic", "")})
        return render_page(request, "group_reset.html", {**context, "form": form})
    data, checked = checked_post(
        request, lambda posted: group_validation.check_reset(posted, group=group, page=True)
    )
    operation = group_operations.group_offsets_reset(where, group, checked, data)
    outcome = operations.run_request(request, operation, via="ui")
    if is_staged(outcome):
        return sent_for_approval(outcome, request, "group-detail", cluster=where.id, group=group)
    if outcome.ok and not outcome.result["dry_run"]:
        count = len(outcome.result["changes"])
        messages.success(request, f"Offsets of {group} reset on {count} partition(s).")
        return redirect("group-detail", cluster=where.id, group=group)
    context.update(form=bound(GroupResetForm(data), checked), outcome=outcome)
    if outcome.ok:
        context["changes"] = outcome.result["changes"]
    return render_page(request, "group_reset.html", context, outcome.http_status)


@handles_oversized
@require_http_methods(["GET", "POST"])
@authorized
def group_delete(request: HttpRequest, cluster: str, group: str) -> HttpResponse:
    where = operations.target(cluster)
    context = _group_context(request, where, group)
    if request.method == "GET":
        return render_page(request, "group_confirm.html", {**context, "form": ConfirmGroupForm()})
    data, checked = checked_post(
        request, lambda posted: group_validation.check_delete(posted, group=group, page=True)
    )
    operation = group_operations.group_delete(where, group, checked, data)
    outcome = operations.run_request(request, operation, via="ui")
    if is_staged(outcome):
        return sent_for_approval(outcome, request, "group-detail", cluster=where.id, group=group)
    if outcome.ok:
        messages.success(request, f"Consumer group {group} deleted.")
        return redirect("group-list", cluster=where.id)
    context.update(form=bound(ConfirmGroupForm(data), checked), outcome=outcome)
    return render_page(request, "group_confirm.html", context, outcome.http_status)
