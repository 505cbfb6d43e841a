"""Celery tasks of the audit outbox: run one job (a sink's drain, or sealing), the beat
sweep, the ledger's checkpoints, the chart's warm count and the daily purge. The scheduler sends
``audit.run_job`` by name (``scheduling.RUN_JOB``): this module imports the scheduler,
never the other way round."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command

from audit import activity, ledger, scheduling


@shared_task(name=scheduling.RUN_JOB, ignore_result=True)
def run_job(name: str, retry: bool = False) -> int:
    """Drain one sink, or seal pending records when ``name`` is ``chain``.

    ``retry``: this is a retry the scheduler set for rows that backed off.
    """
    return scheduling.run(name, retry=retry)


@shared_task(name="audit.sweep", ignore_result=True)
def sweep() -> None:
    """Kick every sink and sealing: picks up whatever an after-commit kick missed."""
    scheduling.kick(scheduling.jobs())


@shared_task(name="audit.checkpoint", ignore_result=True)
def checkpoint() -> int | None:
    """Grow the Merkle tree with what was sealed and sign a checkpoint of it (when new)."""
    made = ledger.checkpoint()
    return made.seq if made else None


@shared_task(name="audit.warm_chart", ignore_result=True)
def warm_chart() -> int:
    """Keep the Audit log's unfiltered chart counted (its first count reads the whole window)."""
    return activity.warm()


@shared_task(name="audit.purge", ignore_result=True)
def purge() -> None:
    """The daily retention purge (``manage.py audit_purge``), itself audited."""
    call_command("audit_purge")
