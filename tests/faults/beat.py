"""The Celery app as ``celery beat`` runs it, with the audit sweep due every few seconds.

Production sweeps every 15 s (``CELERY_BEAT_SCHEDULE``); the fault suite runs the same
beat process with a shorter period (``FLEX_FAULTS_SWEEP_SECONDS``) so that recovery that
depends on the sweep is measured in seconds, not quarter-minutes.
"""

from __future__ import annotations

import os

from django.conf import settings

from flex.celery import app

SWEEP_SECONDS = float(os.environ.get("FLEX_FAULTS_SWEEP_SECONDS", "3"))

app.conf.beat_schedule = {
    **settings.CELERY_BEAT_SCHEDULE,
    "audit-sweep": {**settings.CELERY_BEAT_SCHEDULE["audit-sweep"], "schedule": SWEEP_SECONDS},
}
