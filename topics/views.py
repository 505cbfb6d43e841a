"""Topic pages. Each validates with a form, builds an operation and runs it through the gate.

Pages that only look (clusters, topics, a topic's detail) need the user to be authorized
to use Flex; every change and every message read is an operation the gate decides and
records. Controls the user may not use are shown disabled (display only).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from audit.gate import OperationError, Outcome, ctx_from_request
from audit.records import is_secret_key
from rbac import actions
from rbac.roles import is_authorized
from topics import display, kafka, operations
from topics.forms import (
    ConfigEditForm,
    ConfirmNameForm,
    ProduceForm,
    ReadForm,
    TopicCreateForm,
    config_items,
    config_keys,
    form_failure,
    raw,
)
from topics.models import Cluster, primary_cluster

TOPIC_ACTIONS = {
    "inspect": actions.TOPIC_INSPECT,
    "produce": actions.TOPIC_PRODUCE,
    "edit": actions.TOPIC_EDIT,
    "delete": actions.TOPIC_DELETE,
    "truncate": actions.TOPIC_TRUNCATE,
}


def authorized(view: Callable) -> Callable:
    """Signed in and holding one of ``authorized_roles``; 403 otherwise.

    A POST from someone who is not authorized still reaches the view: the operation
    refuses it there and the refusal is recorded, as every attempted action is.
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST" and not is_authorized(request.user):
            raise PermissionDenied("you are not authorized to use Flex")
        return view(request, *args, **kwargs)

    return wrapper


def _cluster(key: str) -> Cluster:
    cluster = operations.find_cluster(key)
    if cluster is None:
        raise Http404(f"no cluster {key!r} is registered")
    return cluster


def _target(key: str) -> tuple[Cluster, str]:
    """The cluster a URL names and the id operations name it by.

    An unknown key still gives an operation (recorded, failing with unknown_cluster), so
    the page works on a stand-in Cluster carrying the key as its name.
    """
    cluster = operations.find_cluster(key)
    if cluster is None:
        return Cluster(name=key), key
    return cluster, cluster.key


def _post(request: HttpRequest) -> tuple[QueryDict, OperationError | None]:
    """The POST data, or a failure when the body is over Django's upload limit."""
    try:
        return request.POST, None
    except RequestDataTooBig:
        return QueryDict(), kafka.TooLarge("the request is larger than this server accepts")


def _run(request: HttpRequest, operation, cluster_id: str) -> Outcome:
    ctx = ctx_from_request(request, via="ui", cluster_id=cluster_id)
    return operations.run(request.user, operation, ctx)


def _controls(request: HttpRequest, cluster_id: str, topic: str) -> dict[str, bool]:
    return {
        name: operations.may(request.user, action, cluster_id, topic)
        for name, action in TOPIC_ACTIONS.items()
    }


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, f"topics/{template}", context, status=status)


def _topic_context(request: HttpRequest, cluster: Cluster, topic: str, tab: str) -> dict:
    return {
        "cluster": cluster,
        "topic": topic,
        "tab": tab,
        "can": _controls(request, cluster.key, topic),
    }


@require_GET
@authorized
def cluster_list(request: HttpRequest) -> HttpResponse:
    primary_cluster()
    rows = []
    for cluster in Cluster.objects.all():
        try:
            info = kafka.describe_cluster(cluster)
            rows.append({"cluster": cluster, "brokers": info["brokers"], "error": None})
        except kafka.KafkaError as exc:
            rows.append({"cluster": cluster, "brokers": [], "error": exc.message})
    return render(request, "topics/cluster_list.html", {"rows": rows})


@require_GET
@authorized
def topic_list(request: HttpRequest, cluster: str) -> HttpResponse:
    found = _cluster(cluster)
    if cluster != found.key:
        return redirect("topic-list", cluster=found.key)
    query = request.GET.get("q", "").strip()
    internal = request.GET.get("internal") == "1"
    context = {
        "cluster": found,
        "q": query,
        "internal": internal,
        "can_create": operations.may_somewhere(request.user, actions.TOPIC_CREATE, found.key),
    }
    try:
        topics = kafka.list_topics(found)
    except kafka.KafkaError as exc:
        return _page(request, "topic_list.html", {**context, "error": exc.message}, exc.status)
    context["hidden"] = 0 if internal else sum(1 for t in topics if t.internal)
    context["topics"] = [
        t for t in topics if (internal or not t.internal) and query.lower() in t.name.lower()
    ]
    return _page(request, "topic_list.html", context)


@require_http_methods(["GET", "POST"])
@authorized
def topic_create(request: HttpRequest, cluster: str) -> HttpResponse:
    found, cluster_id = _target(cluster)
    brokers = _brokers(found)
    context = {"cluster": found, "brokers": brokers}
    if request.method == "GET":
        return _page(request, "topic_create.html", {**context, "form": TopicCreateForm()})
    data, too_big = _post(request)
    form = TopicCreateForm(data, brokers=brokers)
    operation = operations.topic_create(
        cluster_id=cluster_id,
        name=str(raw(form, "name") or ""),
        partitions=raw(form, "partitions"),
        replication_factor=raw(form, "replication_factor"),
        config_items=config_items(form, "configs"),
        failure=too_big or form_failure(form),
    )
    outcome = _run(request, operation, cluster_id)
    if outcome.ok:
        messages.success(request, f"Topic {form.cleaned_data['name']} created.")
        return redirect("topic-detail", cluster=cluster_id, topic=form.cleaned_data["name"])
    context.update(form=form, outcome=outcome)
    return _page(request, "topic_create.html", context, outcome.http_status)


def _brokers(cluster: Cluster) -> int | None:
    if cluster.pk is None:
        return None
    try:
        return kafka.broker_count(cluster)
    except kafka.KafkaError:
        return None


@require_GET
@authorized
def topic_detail(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    found = _cluster(cluster)
    if cluster != found.key:
        return redirect("topic-detail", cluster=found.key, topic=topic)
    context = _topic_context(request, found, topic, "overview")
    try:
        context["detail"] = kafka.describe_topic(found, topic)
    except kafka.KafkaError as exc:
        return _page(request, "topic_detail.html", {**context, "error": exc.message}, exc.status)
    context["configs"] = [_masked(entry) for entry in context["detail"].configs]
    return _page(request, "topic_detail.html", context)


def _masked(entry: kafka.ConfigEntry) -> dict:
    secret = entry.sensitive or is_secret_key(entry.name)
    return {
        "name": entry.name,
        "value": "[hidden]" if secret and entry.value is not None else entry.value,
        "source": entry.source,
        "secret": secret,
        "read_only": entry.read_only,
    }


@require_http_methods(["GET", "POST"])
@authorized
def topic_configs(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    """GET: the form, and with ``preview`` the before/after to confirm. POST: apply."""
    found, cluster_id = _target(cluster)
    context = _topic_context(request, found, topic, "configs")
    # Nothing of the topic is shown to someone the operation is about to refuse.
    if is_authorized(request.user):
        before, read_error = _current_configs(found, topic)
    else:
        before, read_error = None, None
    context.update(current=[_masked(e) for e in (before or {}).values()], error=read_error)
    if request.method == "GET":
        form = ConfigEditForm(request.GET if "preview" in request.GET else None)
        if form.is_bound and form.is_valid():
            context["changes"] = _changes(before or {}, form.cleaned_data)
        return _page(request, "topic_configs.html", {**context, "form": form})
    data, too_big = _post(request)
    form = ConfigEditForm(data)
    operation = operations.topic_configs_edit(
        cluster_id=cluster_id,
        name=topic,
        set_items=config_items(form, "set"),
        reset_keys=config_keys(form, "reset"),
        before=before,
        failure=too_big or form_failure(form) or read_error,
    )
    outcome = _run(request, operation, cluster_id)
    if outcome.ok:
        messages.success(request, f"Configs of {topic} changed.")
        return redirect("topic-detail", cluster=cluster_id, topic=topic)
    context.update(form=form, outcome=outcome)
    return _page(request, "topic_configs.html", context, outcome.http_status)


def _current_configs(
    cluster: Cluster, topic: str
) -> tuple[dict[str, kafka.ConfigEntry] | None, OperationError | None]:
    if cluster.pk is None:
        return None, kafka.UnknownCluster(f"no cluster {cluster.name!r} is registered")
    try:
        return kafka.topic_configs(cluster, topic), None
    except kafka.KafkaError as exc:
        return None, exc


def _changes(before: dict[str, kafka.ConfigEntry], data: dict) -> list[dict]:
    rows = []
    for key, value in (data.get("set") or {}).items():
        old = before.get(key)
        rows.append({"name": key, "before": _masked(old)["value"] if old else None, "after": value})
    for key in data.get("reset") or []:
        old = before.get(key)
        rows.append({"name": key, "before": _masked(old)["value"] if old else None, "after": None})
    return rows


@require_http_methods(["GET", "POST"])
@authorized
def topic_produce(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    found, cluster_id = _target(cluster)
    context = _topic_context(request, found, topic, "produce")
    context["max_bytes"] = _settings_max_bytes()
    if request.method == "GET":
        return _page(request, "topic_produce.html", {**context, "form": ProduceForm()})
    data, too_big = _post(request)
    form = ProduceForm(data)
    operation = operations.message_produce(
        cluster_id=cluster_id,
        name=topic,
        key=form.key_bytes(),
        value=form.value_bytes(),
        headers=form.header_list(),
        partition=raw(form, "partition"),
        failure=too_big or form_failure(form),
    )
    outcome = _run(request, operation, cluster_id)
    if outcome.ok:
        where = outcome.result
        messages.success(
            request,
            f"Produced to partition {where['partition']} at offset {where['offset']}.",
        )
        return redirect("topic-produce", cluster=cluster_id, topic=topic)
    context.update(form=form, outcome=outcome)
    return _page(request, "topic_produce.html", context, outcome.http_status)


def _settings_max_bytes() -> int:
    return settings.FLEX_PRODUCE_MAX_BYTES


@require_GET
@authorized
def topic_messages(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    """The read form; submitted (``mode`` given), the read runs through the gate."""
    found, cluster_id = _target(cluster)
    context = _topic_context(request, found, topic, "messages")
    if "mode" not in request.GET:
        return _page(request, "topic_messages.html", {**context, "form": ReadForm()})
    form = ReadForm(request.GET)
    failure = form_failure(form)
    operation = operations.messages_read(
        cluster_id=cluster_id,
        name=topic,
        query=None if failure else form.query,
        given=request.GET.dict(),
        failure=failure,
    )
    outcome = _run(request, operation, cluster_id)
    context.update(form=form, outcome=outcome)
    if outcome.ok:
        context["messages_read"] = [display.render_message(m) for m in outcome.result.messages]
        context["partial"] = outcome.result.partial
    return _page(request, "topic_messages.html", context, outcome.http_status)


def _confirm_page(
    request: HttpRequest, cluster: str, topic: str, *, kind: str, build: Callable, done: Callable
) -> HttpResponse:
    found, cluster_id = _target(cluster)
    context = _topic_context(request, found, topic, kind)
    context["kind"] = kind
    if request.method == "GET":
        return _page(
            request, "topic_confirm.html", {**context, "form": ConfirmNameForm(topic=topic)}
        )
    data, too_big = _post(request)
    form = ConfirmNameForm(data, topic=topic)
    operation = build(cluster_id=cluster_id, name=topic, failure=too_big or form_failure(form))
    outcome = _run(request, operation, cluster_id)
    if outcome.ok:
        return done(cluster_id, outcome)
    context.update(form=form, outcome=outcome)
    return _page(request, "topic_confirm.html", context, outcome.http_status)


@require_http_methods(["GET", "POST"])
@authorized
def topic_delete(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    def done(cluster_id: str, outcome: Outcome) -> HttpResponse:
        messages.success(request, f"Topic {topic} deleted.")
        return redirect("topic-list", cluster=cluster_id)

    return _confirm_page(
        request, cluster, topic, kind="delete", build=operations.topic_delete, done=done
    )


@require_http_methods(["GET", "POST"])
@authorized
def topic_truncate(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    def done(cluster_id: str, outcome: Outcome) -> HttpResponse:
        messages.success(request, f"Topic {topic} truncated.")
        return redirect(reverse("topic-detail", kwargs={"cluster": cluster_id, "topic": topic}))

    return _confirm_page(
        request, cluster, topic, kind="truncate", build=operations.topic_truncate, done=done
    )
