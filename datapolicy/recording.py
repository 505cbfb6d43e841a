"""Audit records of data-policy changes and sandbox previews, through the audit gate.

Every change (admin add, change, delete, bulk delete, or an import) is one
``mutation/edit-data-policies`` record with the state before and after; each sandbox
preview one ``query/preview-data-policy`` record.
"""

from __future__ import annotations

from audit.gate import record_event, who
from audit.models import AuditRecord

EDIT = "mutation/edit-data-policies"
PREVIEW = "query/preview-data-policy"


def change_recorded(
    *,
    request,
    change: str,
    before: object,
    after: object,
    via: str = "admin",
    status: str = AuditRecord.SUCCEEDED,
    error: str | None = None,
    extra: dict | None = None,
) -> None:
    """One record of a data-policy change; ``change`` is create, edit, delete or import."""
    actor, user, ctx = who(request, via=via)
    record_event(
        actor=actor,
        user=user,
        type="mutation/request",
        event=EDIT,
        request={"change": change, **(extra or {}), "before": before, "after": after},
        ctx=ctx,
        status=status,
        error=error,
        action="ADMIN",
    )


def preview_recorded(
    request, *, via: str, query: dict, status: str = AuditRecord.SUCCEEDED, error: str | None = None
) -> AuditRecord:
    actor, user, ctx = who(request, via=via)
    return record_event(
        actor=actor,
        user=user,
        type="query/request",
        event=PREVIEW,
        request=query,
        ctx=ctx,
        status=status,
        error=error,
    )
