"""``manage.py audit_purge``: remove records older than FLEX_AUDIT_RETENTION_DAYS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from audit import activity, chain
from audit.gate import Ctx, record_event

PURGE_EVENT = "mutation/purge-audit-log"
SYSTEM_USER = {
    "provider": "flex",
    "email": "",
    "name": "Flex retention",
    "login": "flex",
    "id": None,
}


class Command(BaseCommand):
    help = (
        "Delete audit records older than FLEX_AUDIT_RETENTION_DAYS (the one sanctioned way "
        "records leave), keep the chain verifiable and record the purge itself."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="keep this many days instead of FLEX_AUDIT_RETENTION_DAYS",
        )
        parser.add_argument(
            "--before",
            type=datetime.fromisoformat,
            default=None,
            help="purge records older than this instant (ISO 8601, UTC unless given)",
        )

    def handle(
        self, *args, days: int | None = None, before: datetime | None = None, **options
    ) -> None:
        days = max(1, days if days is not None else settings.FLEX_AUDIT_RETENTION_DAYS)
        cutoff = timezone.now() - timedelta(days=days)
        if before is not None:
            cutoff = before if before.tzinfo else before.replace(tzinfo=UTC)
            days = None
        result = chain.purge(cutoff=cutoff)
        if result.records:
            activity.forget()  # the charts counted what has gone
        record_event(
            actor=None,
            type="mutation/request",
            event=PURGE_EVENT,
            request={
                "retention-days": days,
                "older-than": cutoff.isoformat(),
                "records": result.records,
                "through-seal": result.through_seq,
            },
            ctx=Ctx(via="cli"),
            user=SYSTEM_USER,
        )
        self.stdout.write(
            f"purged {result.records} audit records older than {cutoff:%Y-%m-%d %H:%M} UTC"
        )
