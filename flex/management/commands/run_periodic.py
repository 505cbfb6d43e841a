"""``manage.py run_periodic``: Celery beat's schedule run in this process, for ``make run``
without Redis (no beat or worker there): the audit sweep, the expiry of approval requests and
temporary policies, the purge — each task called here at its interval."""

from __future__ import annotations

import logging
import time

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

log = logging.getLogger("flex.periodic")


def due_tasks(schedule: dict, next_run: dict[str, float], now: float) -> list[str]:
    """The entries of ``schedule`` due at ``now``; moves each one's next run on."""
    due = []
    for name, entry in schedule.items():
        if now >= next_run.get(name, 0.0):
            due.append(name)
            next_run[name] = now + float(entry["schedule"])
    return due


class Command(BaseCommand):
    help = "Run the periodic tasks (CELERY_BEAT_SCHEDULE) in this process, as beat would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--for", dest="seconds", type=float, help="stop after this long")

    def handle(self, *args, seconds: float | None = None, **options) -> None:
        schedule = settings.CELERY_BEAT_SCHEDULE
        current_app.loader.import_default_modules()  # the tasks register on import
        stop = None if seconds is None else time.monotonic() + seconds
        next_run: dict[str, float] = {}
        while stop is None or time.monotonic() < stop:
            for name in due_tasks(schedule, next_run, time.monotonic()):
                close_old_connections()
                try:
                    current_app.tasks[schedule[name]["task"]].apply()
                except Exception:  # one failing task must not stop the others
                    log.exception("periodic task %s failed", name)
            wake = min(next_run.values()) - time.monotonic()
            if stop is not None:
                wake = min(wake, stop - time.monotonic())
            time.sleep(max(wake, 0.05))
