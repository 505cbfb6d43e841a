"""The generic webhook sink: POSTs each record's JSON document to WEBHOOK_URL."""

from __future__ import annotations

from django.conf import settings

from audit.transports import Item, Transport, TransportError, classify, register
from lib import http


class WebhookTransport(Transport):
    """POSTs each record's JSON document to WEBHOOK_URL."""

    name = "webhook"
    batch_size = 20
    order = 30

    @classmethod
    def enabled(cls) -> bool:
        return bool(settings.WEBHOOK_URL)

    def send(self, item: Item) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "flex-audit",
            "X-Flex-Audit-Id": str(item.record_id),
        }
        try:
            answer = http.post(
                settings.WEBHOOK_URL,
                item.text.encode(),
                headers=headers,
                timeout=settings.FLEX_AUDIT_SINK_TIMEOUT,
            )
        except http.Unreachable as exc:
            raise TransportError(f"webhook unreachable: {exc}") from exc
        error = classify(answer.status, answer.body, answer.headers, "webhook")
        if error:
            raise error


register(WebhookTransport)
