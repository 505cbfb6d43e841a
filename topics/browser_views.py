"""The message browser's pages: a page of messages, one message's whole value, and the
downloads of either. Each read and each download is an operation the gate decides and
records (``topics/operations.py``); the data policies mask it before anything is shown."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict
from django.views.decorators.http import require_GET

from rbac.roles import roles_for_user
from topics import operations, reads, validation
from topics.forms import ReadForm, bound
from topics.operations import Target
from topics.views import authorized, render_page, topic_context


@require_GET
@authorized
def topic_messages(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    """The message browser; submitted (``mode`` or ``cursor`` given), the read runs through
    the gate and the page shows it with Older/Newer links and a download of the page."""
    where = operations.target(cluster)
    context = topic_context(request, where, topic, "messages")
    if "mode" not in request.GET and "cursor" not in request.GET:
        return render_page(request, "topic_messages.html", {**context, "form": ReadForm()})
    outcome, checked = _read(request, where, topic, request.GET)
    context.update(form=bound(ReadForm(request.GET), checked), outcome=outcome)
    if outcome.ok:
        shown = reads.page_json(outcome.result, where=where, topic=topic)
        context.update(
            browse=shown, messages_read=shown["messages"], links=_page_links(request, shown)
        )
    return render_page(request, "topic_messages.html", context, outcome.http_status)


def _read(
    request: HttpRequest, where: Target, topic: str, data, *, download: bool = False
) -> tuple:
    checked = validation.check_read(data, full=download)
    roles = roles_for_user(request.user)
    operation = operations.messages_read(
        where, topic, checked, data, roles=roles, download=download
    )
    return operations.run_request(request, operation, via="ui"), checked


def _page_links(request: HttpRequest, shown: dict) -> dict:
    """Older/Newer (the page's cursors, other fields kept) and the download of this page."""
    kept = request.GET.copy()

    def at(cursor: str | None) -> str | None:
        if cursor is None:
            return None
        kept["cursor"] = cursor
        return "?" + kept.urlencode()

    newest_first = shown["order"] == "newest first"
    older, newer = (
        (shown["next"], shown["previous"]) if newest_first else (shown["previous"], shown["next"])
    )
    return {
        "older": at(older),
        "newer": at(newer),
        "next_rel": "older" if newest_first else "newer",
        "download": "download.jsonl?" + request.GET.urlencode(),
    }


@require_GET
@authorized
def message_detail(
    request: HttpRequest, cluster: str, topic: str, partition: int, offset: int
) -> HttpResponse:
    """One message, its whole value (not cut at the display limit); a read like any other."""
    where = operations.target(cluster)
    context = topic_context(request, where, topic, "messages")
    data = _one(partition, offset)
    outcome, _checked = _read(request, where, topic, data)
    context.update(outcome=outcome, partition=partition, offset=offset)
    if outcome.ok:
        found = [m for m in outcome.result.read.messages if m.message.offset == offset]
        context["message"] = reads.message_json(found[0], full=True) if found else None
    return render_page(request, "message_detail.html", context, outcome.http_status)


def _one(partition: int, offset: int) -> QueryDict:
    data = QueryDict(mutable=True)
    data.update({"mode": "offset", "partition": partition, "offset": offset, "limit": 1})
    return data


@require_GET
@authorized
def messages_download(request: HttpRequest, cluster: str, topic: str) -> HttpResponse:
    """The page the browser shows (same fields and cursor) as JSON Lines."""
    return _download(request, cluster, topic, request.GET, "page")


@require_GET
@authorized
def message_download(
    request: HttpRequest, cluster: str, topic: str, partition: int, offset: int
) -> HttpResponse:
    return _download(request, cluster, topic, _one(partition, offset), f"{partition}-{offset}")


def _download(request: HttpRequest, cluster: str, topic: str, data, label: str) -> HttpResponse:
    """A download is its own operation (``TOPIC_DATA_DOWNLOAD``), recorded once, masked."""
    where = operations.target(cluster)
    outcome, checked = _read(request, where, topic, data, download=True)
    if not outcome.ok:
        context = topic_context(request, where, topic, "messages")
        context.update(form=bound(ReadForm(data), checked), outcome=outcome)
        return render_page(request, "topic_messages.html", context, outcome.http_status)
    return reads.download_response(outcome.result, f"{topic}-{label}")
