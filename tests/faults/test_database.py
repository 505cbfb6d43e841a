"""The database connections dropped (pg_terminate_backend from another connection) under the
portal, served by gunicorn as deployed, and under the worker, while people keep acting."""

from __future__ import annotations

import threading
import time
from collections import Counter

import psycopg
import pytest
import requests
from django.conf import settings
from django.db import connection

from audit.models import AuditRecord
from flex import tokens
from tests.faults.conftest import WEB_APP, WORKER_APP, Action, Ledger, finish, wait_delivered

pytestmark = pytest.mark.faults

HTTP_TIMEOUT = 30  # longer than REQUEST_LIMIT: a slow answer is measured, not cut short


def drop_connections(*application_names: str) -> int:
    """Terminate the test database's backends of these processes; how many there were."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = ANY(%s)",
            [connection.settings_dict["NAME"], list(application_names)],
        ).fetchall()
    return len(rows)


def list_topics(bootstrap: str) -> set[str]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


class Dropper(threading.Thread):
    """Terminates the named processes' backends every ``every`` seconds until stopped."""

    def __init__(self, *application_names: str, every: float = 0.3) -> None:
        super().__init__(daemon=True)
        self.names = application_names
        self.every = every
        self.dropped = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.dropped += drop_connections(*self.names)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class HttpActor:
    """Acts through the portal's API over HTTP, as a script with a token would."""

    def __init__(self, base: str, token: str, cluster_id: str, ledger: Ledger) -> None:
        self.topics = f"{base}/api/clusters/{cluster_id}/topics"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.ledger = ledger
        self.statuses: list[int] = []
        self._turn = -1

    def next(self) -> Action:
        self._turn += 1
        kind = "create" if self._turn % 3 == 0 else "delete"
        tag = self.ledger.tag(kind)
        started = time.monotonic()
        if kind == "create":
            body = {"name": tag, "partitions": 1, "replication_factor": 1}
            response = self.session.post(self.topics, json=body, timeout=HTTP_TIMEOUT)
        else:
            response = self.session.delete(f"{self.topics}/{tag}", timeout=HTTP_TIMEOUT)
        seconds = time.monotonic() - started
        self.statuses.append(response.status_code)
        is_json = response.headers.get("Content-Type", "").startswith("application/json")
        record_id = response.json().get("audit_record") if is_json else None
        return self.ledger.add(Action(tag, kind, str(response.status_code), seconds, record_id))


@pytest.fixture
def portal(stack, slack, world, ledger) -> HttpActor:
    """The portal and the worker running; an API client acting as bob."""
    slack.default = slack.hang(0.1)  # the worker spends its time mid-batch
    base = stack.start_web()
    stack.start()
    token = tokens.issue(world["user"], "faults")[1]
    actor = HttpActor(base, token, world["cluster_id"], ledger)
    for _ in range(6):
        actor.next()
    return actor


def settle(stack, ledger: Ledger, recovered: float) -> None:
    finish(ledger, stack, recovered)
    wait_delivered("slack", stack, 60)
    ledger.figures["slack_recovery_s"] = round(time.monotonic() - recovered, 1)


def test_connections_dropped_between_requests_lose_nothing(stack, portal, ledger):
    dropped = 0
    for _ in range(8):
        dropped += drop_connections(WEB_APP, WORKER_APP)
        for _ in range(5):
            portal.next()
        time.sleep(0.3)  # the worker drains meanwhile: its connection dies mid-run too
    recovered = time.monotonic()
    for _ in range(6):
        portal.next()

    ledger.figures["connections_dropped"] = dropped
    ledger.figures["statuses"] = dict(sorted(Counter(portal.statuses).items()))
    assert dropped >= 8
    assert set(portal.statuses) <= {201, 403}, portal.statuses  # created, or denied: no errors
    settle(stack, ledger, recovered)
    ledger.report()


def test_connections_dropped_mid_request_lose_nothing(stack, portal, ledger):
    # A separate connection keeps terminating the portal's and the worker's backends
    # while requests run: some die between requests, some in the middle of one.
    dropper = Dropper(WEB_APP, WORKER_APP)
    dropper.start()
    try:
        for _ in range(40):
            portal.next()
            time.sleep(0.05)
    finally:
        dropper.stop()
    recovered = time.monotonic()
    for _ in range(6):
        portal.next()
    ledger.figures["connections_dropped"] = dropper.dropped
    ledger.figures["statuses"] = dict(sorted(Counter(portal.statuses).items()))
    assert dropper.dropped >= 10
    assert set(portal.statuses) <= {201, 403, 503}, portal.statuses

    # A request the gate never saw (no audit record in the answer) must have changed nothing.
    refused = [a for a in ledger.actions if a.record_id is None]
    ledger.actions = [a for a in ledger.actions if a.record_id is not None]
    assert {a.status for a in refused} <= {"503"}
    assert not AuditRecord.objects.filter(resource_name__in=[a.tag for a in refused]).exists()
    topics = list_topics(stack.broker.bootstrap)
    assert not topics & {a.tag for a in refused}
    # Every record tells the truth: a create's topic exists exactly when it says succeeded.
    outcomes = dict(AuditRecord.objects.values_list("resource_name", "outcome"))
    for action in ledger.actions:
        if action.kind == "create":
            assert (action.tag in topics) == (outcomes.get(action.tag) == "succeeded"), action
    ledger.figures["refused_without_record"] = len(refused)
    settle(stack, ledger, recovered)
    ledger.report()
    if refused:
        # Known gap: the connection dies after the request's health check but before the
        # gate (token lookup, find_cluster, actor_for_user): the view answers 503 "unexpected
        # error" and the action, never attempted, has no record.
        pytest.xfail(f"{len(refused)} requests refused (503, no record) by a mid-request drop")
