"""The Slack sink: one message per record, through an incoming webhook (SLACK_WEBHOOK_URL).

Posted with the one HTTP helper (``lib/http.py``). Slack's answers are classified as every
HTTP sink's: 404 and 410 (the webhook is gone) are permanent, 429 is retried after its
``Retry-After``; backoff is the outbox's business, never a retry here.
"""

from __future__ import annotations

import json
from uuid import UUID

from django.conf import settings

from audit.transports import Item, Transport, TransportError, classify, cluster_label, register
from lib import http


class SlackTransport(Transport):
    """One Slack message per record, through an incoming webhook (SLACK_WEBHOOK_URL)."""

    name = "slack"
    batch_size = 10
    order = 20

    @classmethod
    def enabled(cls) -> bool:
        return bool(settings.SLACK_WEBHOOK_URL)

    @classmethod
    def wants(cls, record_type: str) -> bool:
        verbosity = settings.SLACK_WEBHOOK_VERBOSITY
        if verbosity == "ALL":
            return True
        if record_type.startswith("mutation/"):
            return True
        return verbosity == "QUERIES" and record_type.startswith("query/")

    def send(self, item: Item) -> None:
        text, attachment = slack_message(item.record_id, item.document)
        body = json.dumps({"text": text, "attachments": [attachment]}).encode()
        try:
            answer = http.post(
                settings.SLACK_WEBHOOK_URL,
                body,
                headers={"Content-Type": "application/json;charset=utf-8"},
                timeout=settings.FLEX_AUDIT_SINK_TIMEOUT,
            )
        except http.Unreachable as exc:
            raise TransportError(f"Slack unreachable: {exc}") from exc
        error = classify(answer.status, answer.body, answer.headers, "Slack")
        if error:
            raise error


OUTCOME_STYLE = {
    "succeeded": (":white_check_mark:", "#2eb886"),
    "failed": (":x:", "#d50200"),
    "denied": (":no_entry:", "#e8a723"),
    "staged": (":hourglass_flowing_sand:", "#439fe0"),
}


def _esc(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(record_id: UUID, document: dict) -> tuple[str, dict]:
    """The text and attachment for one record: who did what, on which cluster, how it went."""
    data = document.get("data") or {}
    user = data.get("user") or {}
    event = data.get("event") or [""]
    request = event[1] if len(event) > 1 and isinstance(event[1], dict) else {}
    response = data.get("response") or {}
    status, error = response.get("status", ""), response.get("error")
    name = str(event[0]).split("/", 1)[-1]
    target = request.get("topic-name")
    what = f"{name}: {target}" if target else name
    kind = {"mutation": "Action", "query": "Query"}.get(document.get("type", "").split("/")[0])
    text = f"{kind or 'Event'} `{_esc(what)}` by {_who(user)} *{_esc(status)}*"
    cluster = (document.get("ctx") or {}).get("cluster-id")
    if cluster:
        text += f" on cluster `{_esc(cluster_label(cluster))}`"
    emoji, colour = OUTCOME_STYLE.get(status, (":grey_question:", "#999999"))
    link = f"{settings.SITE_URL.rstrip('/')}/settings/audit-log/{record_id}/"
    attachment = {
        "color": colour,
        "text": f"{status.capitalize()}: {_esc(error)}" if error else "",
        "footer": f"<{link}|audit record {record_id}>",
        "fallback": f"{status}: {what}",
    }
    return f"{emoji} {text}", attachment


def _who(user: dict) -> str:
    login, name = user.get("login") or "someone", user.get("name")
    return f"*{_esc(name)}* ({_esc(login)})" if name else f"*{_esc(login)}*"


register(SlackTransport)
