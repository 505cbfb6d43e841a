"""Storing a staged action as a request for approval, and who may see which requests.

``stage`` is the gate's stager (registered by ``ApprovalsConfig.ready``): it runs in the
transaction of the ``staged`` record, so a request exists exactly when its record does.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet

from approvals.models import Approval
from audit.staging import Staged, digest
from rbac.door import is_admin


def stage(staged: Staged) -> None:
    """Store the request the gate staged: its input, its redacted request and its digest."""
    operation, record = staged.operation, staged.record
    created = record.ts
    Approval.objects.create(
        id=staged.approval_id,
        event=operation.event,
        action=operation.action,
        resource=list(operation.resource),
        stored=operation.stored,
        request=record.document["data"]["event"][1],
        digest=digest(operation.event, operation.resource, operation.stored),
        requested_by=staged.actor.login,
        requested_by_pk=staged.actor.user_pk,
        requester=record.document["data"]["user"],
        created_at=created,
        expires_at=created + timedelta(seconds=settings.FLEX_APPROVAL_TTL_SECONDS),
        request_record=record.id,
    )


def visible_to(user) -> QuerySet[Approval]:
    """Admins see every request; anyone else their own."""
    if is_admin(user):
        return Approval.objects.all()
    return Approval.objects.filter(requested_by_pk=user.pk)


def pending_for(user) -> QuerySet[Approval]:
    """The user's own requests still waiting for a decision (the User log shows them)."""
    return Approval.objects.filter(requested_by_pk=user.pk, state=Approval.PENDING)
