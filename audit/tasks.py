"""Celery tasks of the audit outbox: drain one sink (or the chain), and the beat sweep."""

from __future__ import annotations

from celery import shared_task

from audit import delivery


@shared_task(name="audit.run_job", ignore_result=True)
def run_job(name: str, retry: bool = False) -> int:
    """Drain one sink, or seal pending records when ``name`` is ``chain``.

    ``retry``: this is a retry ``delivery`` scheduled for rows that backed off.
    """
    return delivery.run(name, retry=retry)


@shared_task(name="audit.sweep", ignore_result=True)
def sweep() -> None:
    """Kick every sink and the chain: picks up whatever an after-commit kick missed."""
    delivery.kick(delivery.jobs())


@shared_task(name="audit.purge", ignore_result=True)
def purge() -> None:
    """The daily retention purge (``manage.py audit_purge``), itself audited."""
    from django.core.management import call_command

    call_command("audit_purge")
