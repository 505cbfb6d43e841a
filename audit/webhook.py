"""The generic webhook sink: POSTs each record to WEBHOOK_URL, in WEBHOOK_FORMAT, signed.

The body is the record's document (``flex``), a CloudEvent or an OCSF event
(``audit/formats.py``); the ``flex-signature`` header is the Ed25519 signature (base64) of
the body bytes exactly as sent, ``flex-key-id`` the id of the key (``GET /api/audit/keys``).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from audit import signing
from audit.formats import body_for
from audit.transports import Attempt, Item, Transport, TransportError, classify, register
from lib import http


class WebhookTransport(Transport):
    """POSTs each record to WEBHOOK_URL in WEBHOOK_FORMAT, with its signature."""

    name = "webhook"
    batch_size = 20
    order = 30

    @classmethod
    def enabled(cls) -> bool:
        return bool(settings.WEBHOOK_URL)

    def deliver(self, items: list[Item]) -> list[Attempt]:
        try:
            self.signer = signing.current_signer()  # once a batch: loads and lists the key
        except signing.SigningKeyError as exc:
            error = TransportError(f"cannot sign audit records: {exc}")
            return [Attempt(items, timezone.now(), error=error)]
        return super().deliver(items)

    def send(self, item: Item) -> None:
        body, content_type = body_for(item, settings.WEBHOOK_FORMAT)
        headers = {
            "Content-Type": content_type,
            "User-Agent": "flex-audit",
            "X-Flex-Audit-Id": str(item.record_id),
            "flex-signature": self.signer.sign(body),
            "flex-key-id": self.signer.key_id,
        }
        try:
            answer = http.post(
                settings.WEBHOOK_URL,
                body,
                headers=headers,
                timeout=settings.FLEX_AUDIT_SINK_TIMEOUT,
            )
        except http.Unreachable as exc:
            raise TransportError(f"webhook unreachable: {exc}") from exc
        error = classify(answer.status, answer.body, answer.headers, "webhook")
        if error:
            raise error


register(WebhookTransport)
