"""Building an audit record: the draft document, redaction, the indexed columns, the MAC and
the signature of the text it will be published as.

Nothing here touches the database: ``draft`` turns what happened (an ``Event``) into the
row the store will write, with the sinks it is queued for.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from audit import chain, signing
from audit.models import AuditRecord, uuid7
from audit.outbox import outbox_for
from audit.records import clean_text, redact, scrub
from rbac.roles import Actor


@dataclass(frozen=True)
class Event:
    """What one audit record says happened, before redaction.

    ``ctx`` is the request context as the record shows it (``Ctx.as_record()``);
    ``cluster_id`` the cluster it names, for the indexed column. ``user`` replaces the
    actor's own block (sign-in refused before there is an actor, the system's purge).
    """

    actor: Actor | None
    type: str
    event: str
    request: dict
    ctx: dict
    cluster_id: str | None
    status: str
    error: str | None = None
    rbac: dict | None = None
    action: str = ""
    resource: Sequence[str] = ()
    user: dict | None = None
    sensitive_keys: frozenset[str] = frozenset()


@dataclass
class Draft:
    record: AuditRecord
    outbox: list[str]  # the sinks it gets a Delivery row for (sealing is queued always)

    @property
    def document(self) -> dict:
        return self.record.document


def draft(event: Event) -> Draft:
    """The record as it will be stored: redacted document, indexed columns, MAC, outbox."""
    record_id = uuid7()
    ts_ms = time.time_ns() // 1_000_000
    actor, resource = event.actor, list(event.resource)
    user_block = event.user if event.user is not None else (actor.as_record() if actor else {})
    document = _document(event, user_block, record_id, ts_ms)
    record = AuditRecord(
        id=record_id,
        ts=datetime.fromtimestamp(ts_ms / 1000, tz=UTC),
        flex_user_id=actor.flex_id if actor else None,
        user_pk=actor.user_pk if actor else None,
        login=clean_text(actor.login if actor else user_block.get("login") or "")[:150],
        type=clean_text(event.type)[:40],
        event=clean_text(event.event)[:80],
        action=clean_text(event.action)[:40],
        outcome=event.status,
        cluster_id=clean_text(event.cluster_id or "")[:100],
        resource_name=clean_text(str(resource[3]) if len(resource) >= 4 else "")[:300],
        document=document,
    )
    record.mac = chain.record_mac(record)
    signing.sign_draft(record)
    return Draft(record, outbox_for(record.type))


def _document(event: Event, user_block: dict, record_id: UUID, ts_ms: int) -> dict:
    data: dict = {"user": user_block, "event": [event.event, event.request]}
    if event.rbac is not None:
        data["rbac"] = event.rbac
    data["response"] = {"status": event.status, "error": event.error}
    secrets: set[str] = set()
    document = redact(
        {"id": str(record_id), "ts": ts_ms, "type": event.type, "data": data, "ctx": event.ctx},
        event.sensitive_keys,
        secrets,
    )
    # The error as redact() left it (NUL and lone surrogates replaced: jsonb refuses them),
    # with any secret it quotes scrubbed.
    response = document["data"]["response"]
    response["error"] = scrub(response["error"], secrets)
    return document
