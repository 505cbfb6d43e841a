"""Topic pages. Each checks its input, builds an operation and runs it through the gate.

Pages that only look (clusters, topics, a topic's detail) ask the read model
(``topics/reads.py``); every change and every message read is an operation the gate
decides and records. Controls the user may not use are shown disabled (display only).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods

from audit.gate import Outcome
from audit.models import AuditRecord
from lib.errors import OperationError, TooLarge
from topics import operations, reads, validation
from topics.forms import (
    ConfigEditForm,
    ConfirmNameForm,
    ProduceForm,
    TopicCreateForm,
    bound,
)
from topics.models import Cluster
from topics.operations import Target
from topics.validation import TOPIC_SORTS, TopicListQuery


def authorized(view: Callable) -> Callable:
    """Signed in; and for looking, holding one of ``authorized_roles`` (403 otherwise).

    A POST from someone who is not authorized still reaches the view: the gate refuses
    it there and the refusal is recorded, as every attempted action is.
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST":
            reads.require_authorized(request.user)
        return view(request, *args, **kwargs)

    return wrapper


def known_target(key: str) -> Target:
    """A cluster for a page that only looks: unknown is a 404."""
    where = operations.target(key)
    if where.cluster is None:
        raise Http404(f"no cluster {key!r} is registered")
    return where


def checked_post(
    request: HttpRequest, check: Callable[[QueryDict], validation.Checked]
) -> tuple[QueryDict, validation.Checked]:
    """The POST data and ``check``'s verdict on it. A body over the upload limit, refused
    unread by ``flex.middleware.OversizedBodyMiddleware`` (which leaves the refusal to us),
    fails without being read."""
    size = getattr(request, "flex_oversized", None)
    if size is not None:
        too_big = TooLarge(f"the request is {size} bytes: more than this server accepts")
        return QueryDict(), operations.refused(too_big)
    return request.POST, check(request.POST)


def handles_oversized(view: Callable) -> Callable:
    """Mark a view that records its own refusal of a body over the upload limit."""
    view.handles_oversized = True
    return view


def sent_for_approval(outcome: Outcome, request: HttpRequest, *where_to, **kwargs) -> HttpResponse:
    """A Stage policy held the change: say so, link the request, and go back."""
    url = reverse("approval-detail", args=[outcome.result["approval"]])
    notice = "Sent for approval: a Stage policy applies, so an admin must approve this first."
    messages.info(request, format_html('{} <a href="{}">See the request</a>.', notice, url))
    return redirect(*where_to, **kwargs)


def is_staged(outcome: Outcome) -> bool:
    return outcome.status == AuditRecord.STAGED


def render_page(
    request: HttpRequest, template: str, context: dict, status: int = 200
) -> HttpResponse:
    return render(request, f"topics/{template}", context, status=status)


def topic_context(request: HttpRequest, where: Target, topic: str, tab: str) -> dict:
    cluster = where.cluster or stand_in(where)
    return {
        "cluster": cluster,
        "topic": topic,
        "tab": tab,
        "can": reads.controls(request.user, where, topic),
    }


def stand_in(where: Target) -> Cluster:
    """An unknown cluster still gets its page (the operation fails, recorded, with a 404)."""
    return Cluster(name=where.key)


@require_GET
@authorized
def cluster_list(request: HttpRequest) -> HttpResponse:
    return render(request, "topics/cluster_list.html", {"rows": reads.clusters()})


@require_GET
@authorized
def topic_list(request: HttpRequest, cluster: str) -> HttpResponse:
    where = known_target(cluster)
    if cluster != where.id:
        return redirect("topic-list", cluster=where.id)
    checked = validation.check_topic_list(request.GET)
    listing = checked.value or TopicListQuery()
    context = {
        "cluster": where.cluster,
        "listing": listing,
        "per_page_choices": (25, 50, 100, 200, 500),
        "can_create": reads.may_create(request.user, where),
    }
    if checked.error is not None:
        return render_page(
            request, "topic_list.html", {**context, "error": checked.error.message}, 400
        )
    try:
        found = reads.topic_page(where.cluster, listing)
    except OperationError as exc:
        return render_page(
            request, "topic_list.html", {**context, "error": exc.message}, exc.status
        )
    links = _list_links(listing, found.pages)
    columns = [(column, label, links["sort"][column]) for column, label in COLUMNS]
    context.update(found=found, links=links, columns=columns)
    return render_page(request, "topic_list.html", context)


COLUMNS = (
    ("name", "Name"),
    ("partitions", "Partitions"),
    ("messages", "Messages (estimate)"),
    ("size", "Size"),
)


def _list_links(listing: TopicListQuery, pages: int) -> dict:
    """Query strings of the list's column headers (click again: the other order) and pages."""

    def link(**changes: object) -> str:
        return "?" + urlencode(listing.as_params(**changes))

    sorts = {
        column: link(
            sort=column, descending=listing.sort == column and not listing.descending, page=1
        )
        for column in TOPIC_SORTS
    }
    return {
        "sort": sorts,
        "previous": link(page=listing.page - 1) if listing.page > 1 else None,
        "next": link(page=listing.page + 1) if listing.page < pages else None,
    }


@handles_oversized
@require_http_methods(["GET", "POST"])
@authorized
def topic_create(request: HttpRequest, cluster: str) -> HttpResponse:
    where = operations.target(cluster)
    context = {"cluster": where.cluster or stand_in(where)}
    if request.method == "GET":
        brokers = reads.broker_count(where.cluster)
        form = TopicCreateForm(brokers=brokers)
        return render_page(
            request, "topic_create.html", {**context, "form": form, "brokers": brokers}
        )
    data, checked = checked_post(request, lambda posted: validation.check_create(posted, page=True))
    outcome = operations.run_request(
        request, operations.topic_create(where, checked, data), via="ui"
    )
    if is_staged(outcome):
        return sent_for_approval(outcome, request, "topic-list", cluster=where.id)
    if outcome.ok:
        name = checked.value.name
        messages.success(request, f"Topic {name} created.")
        return redirect("topic-detail", cluster=where.id, topic=name)
    context.update(form=bound(TopicCreateForm(data), checked), outcome=outcome)
    return render_page(request, "topic_create.html", context, outcome.http_status)


@require_GET
@authorized
def topic_detail(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    where = known_target(cluster)
    if cluster != where.id:
        return redirect("topic-detail", cluster=where.id, topic=topic)
    context = topic_context(request, where, topic, "overview")
    try:
        detail = reads.topic(where.cluster, topic)
    except OperationError as exc:
        return render_page(
            request, "topic_detail.html", {**context, "error": exc.message}, exc.status
        )
    configs = [reads.config_row(c) for c in reads.with_defaults(detail.configs)]
    noted = any(c["note"] or not c["reported"] for c in configs)
    context.update(detail=detail, configs=configs, configs_noted=noted)
    try:
        context["groups"] = reads.topic_groups(where.cluster, topic)
    except OperationError as exc:
        context["groups_error"] = exc.message
    return render_page(request, "topic_detail.html", context)


@handles_oversized
@require_http_methods(["GET", "POST"])
@authorized
def topic_configs(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    """GET: the form, and with ``preview`` the before/after to confirm. POST: apply."""
    where = operations.target(cluster)
    context = topic_context(request, where, topic, "configs")
    if request.method == "GET":
        return _configs_form(request, where, topic, context)
    data, checked = checked_post(
        request, lambda posted: validation.check_config_change(posted, page=True)
    )
    operation = operations.topic_configs_edit(where, topic, checked, data)
    outcome = operations.run_request(request, operation, via="ui")
    if is_staged(outcome):
        return sent_for_approval(outcome, request, "topic-detail", cluster=where.id, topic=topic)
    if outcome.ok:
        messages.success(request, f"Configs of {topic} changed.")
        return redirect("topic-detail", cluster=where.id, topic=topic)
    context.update(form=bound(ConfigEditForm(data), checked), outcome=outcome, current=[])
    return render_page(request, "topic_configs.html", context, outcome.http_status)


def _configs_form(request: HttpRequest, where: Target, topic: str, context: dict) -> HttpResponse:
    try:
        context["current"] = reads.configs(reads.require_cluster(where), topic)
    except OperationError as exc:
        context.update(current=[], error=exc.message)
    form = ConfigEditForm(request.GET if "preview" in request.GET else None)
    if form.is_bound:
        checked = validation.check_config_change(request.GET, page=True)
        form = bound(form, checked)
        if checked.value is not None:
            change = checked.value
            context["changes"] = reads.config_changes(
                context["current"], change.set_items, change.reset_keys
            )
    return render_page(request, "topic_configs.html", {**context, "form": form})


@handles_oversized
@require_http_methods(["GET", "POST"])
@authorized
def topic_produce(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    where = operations.target(cluster)
    context = topic_context(request, where, topic, "produce")
    context["max_bytes"] = settings.FLEX_PRODUCE_MAX_BYTES
    if request.method == "GET":
        return _produce_form(request, context)
    data, checked = checked_post(
        request, lambda posted: validation.check_message(posted, page=True)
    )
    outcome = operations.run_request(
        request, operations.message_produce(where, topic, checked, data), via="ui"
    )
    if is_staged(outcome):
        return sent_for_approval(outcome, request, "topic-produce", cluster=where.id, topic=topic)
    # The form keeps what was sent, to send again or change a field; "Clear" empties it.
    context.update(form=bound(ProduceForm(data), checked), outcome=outcome)
    if outcome.ok:
        written = outcome.result
        messages.success(
            request, f"Produced to partition {written['partition']} at offset {written['offset']}."
        )
        context["written"] = written
    return render_page(request, "topic_produce.html", context, outcome.http_status)


def _produce_form(request: HttpRequest, context: dict) -> HttpResponse:
    """The empty form, or filled from a JSON template (``?template=``): nothing is sent."""
    if "template" not in request.GET:
        return render_page(request, "topic_produce.html", {**context, "form": ProduceForm()})
    checked = validation.check_template(request.GET["template"])
    form = ProduceForm(initial=checked.value or {})
    context.update(form=form, template=request.GET["template"])
    if checked.error is not None:
        context["template_error"] = checked.error.message
        return render_page(request, "topic_produce.html", context, 400)
    return render_page(request, "topic_produce.html", context)


def _confirm_page(
    request: HttpRequest, cluster: str, topic: str, *, kind: str, build: Callable, done: str
) -> HttpResponse:
    where = operations.target(cluster)
    context = {**topic_context(request, where, topic, kind), "kind": kind}
    if request.method == "GET":
        return render_page(request, "topic_confirm.html", {**context, "form": ConfirmNameForm()})
    data, checked = checked_post(request, lambda posted: validation.check_confirm(posted, topic))
    outcome = operations.run_request(request, build(where, topic, checked), via="ui")
    if is_staged(outcome):
        return sent_for_approval(outcome, request, "topic-detail", cluster=where.id, topic=topic)
    if outcome.ok:
        messages.success(request, f"Topic {topic} {kind}d.")
        if done == "topic-list":
            return redirect(done, cluster=where.id)
        return redirect(done, cluster=where.id, topic=topic)
    context.update(form=bound(ConfirmNameForm(data), checked), outcome=outcome)
    return render_page(request, "topic_confirm.html", context, outcome.http_status)


@handles_oversized
@require_http_methods(["GET", "POST"])
@authorized
def topic_delete(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    return _confirm_page(
        request, cluster, topic, kind="delete", build=operations.topic_delete, done="topic-list"
    )


@handles_oversized
@require_http_methods(["GET", "POST"])
@authorized
def topic_truncate(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    return _confirm_page(
        request,
        cluster,
        topic,
        kind="truncate",
        build=operations.topic_truncate,
        done="topic-detail",
    )
