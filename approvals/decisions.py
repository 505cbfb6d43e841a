"""Deciding a request for approval: approve (and run it), reject, expire.

Each step is one audit record, every record of a request carrying its id as
``ctx.correlation-id``: the request itself (``staged``, written by the gate), the decision
(``mutation/approve-request``, ``mutation/reject-request``; refused ones too) or the expiry
(``mutation/expire-request``), and the execution's own record, written by the gate.

Who may decide: an admin (``admin_roles`` or a superuser) whom the policies Allow the action on
the resource (a Stage decision of their own does not qualify), never the requester. The row is
locked (``select_for_update``) while it is checked and marked: of two concurrent approvals one
runs, the other finds it decided. The approved request runs as stored: its digest is checked,
the operation is built again from its stored input, and it passes the gate as the approver
(whose door answer is Allow), with ``ctx.requested-by`` naming who asked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from approvals.models import Approval
from audit import gate, staging
from audit.gate import SYSTEM_USER, Ctx, Outcome, record_event
from audit.models import AuditRecord
from lib.errors import OperationError
from rbac.door import authorize, is_admin
from rbac.roles import Actor, actor_for_user

APPROVE = "mutation/approve-request"
REJECT = "mutation/reject-request"
EXPIRE = "mutation/expire-request"
COMMENT_MAX = 2000


@dataclass
class Decided:
    """What a decision call answers: its status, its record and, approved, the execution's."""

    status: str  # succeeded | failed (approved and run), rejected, or refused
    record: AuditRecord | None
    http_status: int = 200
    code: str | None = None
    error: str | None = None
    outcome: Outcome | None = None
    approval: Approval | None = None

    @property
    def refused(self) -> bool:
        return self.status == "refused"


class Refusal(OperationError):
    status = 403


def approve(user, approval_id: Any, *, comment: Any, ctx: Ctx) -> Decided:
    return _decide(user, approval_id, comment, ctx, APPROVE)


def reject(user, approval_id: Any, *, comment: Any, ctx: Ctx) -> Decided:
    return _decide(user, approval_id, comment, ctx, REJECT)


def _decide(user, approval_id: Any, comment: Any, ctx: Ctx, event: str) -> Decided:
    actor = actor_for_user(user)
    with transaction.atomic():
        approval = _locked(approval_id)
        try:
            _check(approval, user, actor, comment)
        except Refusal as refusal:
            return _refused(approval, approval_id, actor, ctx, event, comment, refusal)
        approval.state = Approval.APPROVED if event == APPROVE else Approval.REJECTED
        approval.decided_at, approval.decided_by = datetime.now(UTC), actor.login
        approval.comment = comment or ""
        record = _record(approval, actor, ctx, event, comment)
        approval.decision_record = record.id
        approval.save()
    if event == REJECT:
        return Decided("rejected", record, approval=approval)
    return _run(approval, actor, ctx, record)


def _locked(approval_id: Any) -> Approval | None:
    try:
        key = uuid.UUID(str(approval_id))
    except ValueError:
        return None
    return Approval.objects.select_for_update().filter(pk=key).first()


def _check(approval: Approval | None, user, actor: Actor, comment: Any) -> None:
    if approval is None:
        raise Refusal("no such request for approval", code="not_found", status=404)
    if comment is not None and (not isinstance(comment, str) or len(comment) > COMMENT_MAX):
        raise Refusal(
            f"comment must be text of at most {COMMENT_MAX} characters",
            code="invalid_request",
            status=400,
        )
    if approval.state == Approval.PENDING and approval.expires_at <= datetime.now(UTC):
        _expire(approval)
    if approval.state != Approval.PENDING:
        raise Refusal(
            f"the request is {approval.state}, not pending", code="not_pending", status=409
        )
    if approval.requested_by_pk is not None and approval.requested_by_pk == user.pk:
        raise Refusal("nobody approves or rejects their own request", code="self_approval")
    decision = authorize(actor, approval.action, approval.resource)
    if not (is_admin(user) and decision.success):
        raise Refusal(
            f"only an admin whom the policies allow {approval.action} on "
            f"{'/'.join(approval.resource)} may decide this request",
            code="not_approver",
        )
    if staging.digest(approval.event, approval.resource, approval.stored) != approval.digest:
        raise Refusal(
            "the stored request no longer matches its digest", code="digest_mismatch", status=409
        )


def _refused(approval, approval_id, actor, ctx, event, comment, refusal: Refusal) -> Decided:
    status = AuditRecord.DENIED if refusal.status == 403 else AuditRecord.FAILED
    if approval is None:
        record = record_event(
            actor=actor,
            type="mutation/request",
            event=event,
            request={"approval": str(approval_id)[:100], "comment": _shown(comment)},
            ctx=replace(ctx, correlation_id=str(approval_id)[:100]),
            status=status,
            error=refusal.message,
        )
    else:
        record = _record(approval, actor, ctx, event, comment, status, refusal.message)
    return Decided(
        "refused", record, refusal.status, refusal.code, refusal.message, approval=approval
    )


def _shown(comment: Any) -> Any:
    return comment[:COMMENT_MAX] if isinstance(comment, str) else comment


def _record(
    approval: Approval,
    actor: Actor | None,
    ctx: Ctx,
    event: str,
    comment: Any = None,
    status: str = AuditRecord.SUCCEEDED,
    error: str | None = None,
    user: dict | None = None,
) -> AuditRecord:
    return record_event(
        actor=actor,
        user=user,
        type="mutation/request",
        event=event,
        request={
            "approval": str(approval.id),
            "operation": approval.event,
            "resource": list(approval.resource),
            "requested-by": approval.requested_by,
            "comment": _shown(comment),
        },
        ctx=replace(ctx, cluster_id=approval.resource[1], correlation_id=str(approval.id)),
        status=status,
        error=error,
        action=approval.action,
        resource=approval.resource,
    )


def _run(approval: Approval, actor: Actor, ctx: Ctx, decision_record: AuditRecord) -> Decided:
    """Run the approved request through the gate as the approver; keep its outcome."""
    run_ctx = replace(
        ctx,
        cluster_id=approval.resource[1],
        correlation_id=str(approval.id),
        requested_by=approval.requested_by,
    )
    try:
        operation = staging.rebuild(approval.stored)
        outcome = gate.perform(actor, operation, run_ctx, stage=False)
    except gate.AuditUnavailable as exc:
        outcome = Outcome(AuditRecord.FAILED, error=exc.message, code=exc.code, http_status=503)
    except OperationError as exc:  # nothing can build it again: recorded as its failure
        record = record_event(
            actor=actor,
            type="mutation/request",
            event=approval.event,
            request={"approval": str(approval.id)},
            ctx=run_ctx,
            status=AuditRecord.FAILED,
            error=exc.message,
            action=approval.action,
            resource=approval.resource,
        )
        outcome = Outcome(AuditRecord.FAILED, error=exc.message, code=exc.code, record=record)
    state = Approval.SUCCEEDED if outcome.ok else Approval.FAILED
    Approval.objects.filter(pk=approval.pk, state=Approval.APPROVED).update(
        state=state,
        outcome_record=outcome.record.id if outcome.record else None,
        error=outcome.error or "",
    )
    approval.refresh_from_db()
    return Decided(outcome.status, decision_record, outcome=outcome, approval=approval)


def _expire(approval: Approval) -> bool:
    """Mark a pending request past its time expired, with its record (once: conditional)."""
    now = datetime.now(UTC)
    if not Approval.objects.filter(pk=approval.pk, state=Approval.PENDING).update(
        state=Approval.EXPIRED, decided_at=now
    ):
        approval.refresh_from_db()
        return False
    approval.state, approval.decided_at = Approval.EXPIRED, now
    ctx = Ctx(via="system")
    record = _record(approval, None, ctx, EXPIRE, user=SYSTEM_USER)
    Approval.objects.filter(pk=approval.pk).update(decision_record=record.id)
    approval.decision_record = record.id
    return True


def expire_due() -> int:
    """Expire every pending request past its time (the beat task); how many."""
    now = datetime.now(UTC)
    count = 0
    due = Approval.objects.filter(state=Approval.PENDING, expires_at__lte=now)
    for approval in due.order_by("expires_at")[:500]:
        with transaction.atomic():
            count += _expire(approval)
    return count
