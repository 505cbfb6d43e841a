"""Celery tasks of rbac: recording the expiry of temporary policies (a beat task).

An expired temporary policy stops deciding by itself (the compiled set knows its expiry);
this task writes its one ``mutation/expire-temporary-policy`` record.
"""

from __future__ import annotations

from celery import shared_task

from rbac import signals, temporary
from rbac.models import TemporaryPolicy


def _record_expiry(grant: TemporaryPolicy) -> None:
    signals.send_policy_changed(
        user=None,
        request=None,
        event=signals.EXPIRE_TEMPORARY,
        before=grant.snapshot(),
        after=None,
        via="system",
    )


def expire_temporary_policies() -> int:
    """Record every temporary policy that expired unrecorded; how many."""
    return temporary.expire_due(_record_expiry)


@shared_task(name="rbac.expire_temporary_policies", ignore_result=True)
def expire_temporary_policies_task() -> int:
    return expire_temporary_policies()
