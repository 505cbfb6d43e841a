"""Celery tasks of approvals: expiring requests past ``FLEX_APPROVAL_TTL_SECONDS`` (beat)."""

from __future__ import annotations

from celery import shared_task

from approvals import decisions


@shared_task(name="approvals.expire", ignore_result=True)
def expire() -> int:
    return decisions.expire_due()
