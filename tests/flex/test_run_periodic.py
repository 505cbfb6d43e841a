"""``manage.py run_periodic``: beat's schedule for ``make run`` without Redis."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from audit.models import AuditRecord
from flex.management.commands.run_periodic import due_tasks
from rbac import engine
from rbac.models import Policy
from tests.conftest import ROOT, wait_until


def test_each_entry_runs_at_once_then_at_its_interval():
    schedule = {"fast": {"schedule": 2.0}, "slow": {"schedule": 30.0}}
    next_run: dict[str, float] = {}
    assert due_tasks(schedule, next_run, 100.0) == ["fast", "slow"]
    assert due_tasks(schedule, next_run, 101.0) == []
    assert due_tasks(schedule, next_run, 102.0) == ["fast"]
    assert due_tasks(schedule, next_run, 130.0) == ["fast", "slow"]


@pytest.mark.django_db(transaction=True)
def test_without_redis_an_expired_grant_is_recorded_by_the_periodic_process(personas):
    Policy.objects.create(
        resource=["cluster", "*"], effect="Allow", actions=["TOPIC_DELETE"], roles=["admins"]
    )
    engine.invalidate()
    api = APIClient()
    api.force_authenticate(personas["alice"])
    body = {
        "user": "bob",
        "effect": "Allow",
        "actions": ["TOPIC_DELETE"],
        "resource": ["cluster", "*"],
        "duration_seconds": 1,
        "reason": "incident 7",
    }
    assert api.post("/api/rbac/temporary-policies/", body, format="json").status_code == 201
    db = settings.DATABASES["default"]
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
    )
    env["FLEX_TEST_DB_NAME"] = ""
    process = subprocess.Popen([sys.executable, "manage.py", "run_periodic"], cwd=ROOT, env=env)
    try:
        expiries = AuditRecord.objects.filter(event="mutation/expire-temporary-policy")
        wait_until(lambda: expiries.exists(), timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert [(r.login, r.outcome) for r in expiries] == [("flex", "succeeded")]
