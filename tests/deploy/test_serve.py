"""``make serve`` as deployed: refusals, probes, metrics across workers, a real proxy, and
300 concurrent actions from 20 clients over 3 web and 2 worker processes."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from audit.gate import Ctx, record_event
from audit.models import AuditRecord
from flex import tokens
from rbac.models import Policy
from rbac.roles import actor_for_user
from tests.conftest import ROOT
from tests.deploy.conftest import METRICS_TOKEN, PROXY_ADDRESS
from tests.faults.conftest import finish
from tests.faults.test_database import HttpActor

CLIENT_ADDRESS = "127.0.0.5"  # the "real client": neither the proxy nor gunicorn's 127.0.0.1


@pytest.mark.parametrize(
    ("unset", "extra", "named"),
    [
        ("DATABASE_URL", {}, "DATABASE_URL is not set"),
        ("REDIS_URL", {}, "REDIS_URL is not set"),
        ("SECRET_KEY", {}, "SECRET_KEY is not set"),
        ("", {"DEBUG": "true"}, "DEBUG must be off"),
        ("DEBUG", {}, "DEBUG must be off"),  # unset means on
    ],
)
def test_serve_refuses_a_development_environment(unset, extra, named):
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "SECRET_KEY": "k" * 50,
        "DEBUG": "false",
        **extra,
    }
    env.pop(unset, None)
    done = subprocess.run(
        [sys.executable, "-m", "flex.serve"], env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert named in done.stderr.decode()


def _get(base: str, path: str, *, source: str = CLIENT_ADDRESS, headers: dict | None = None):
    """A GET from ``source`` (a loopback address of its own), as http.client sends it."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(
        url.hostname, url.port, timeout=15, source_address=(source, 0)
    )
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        named = line.startswith(name + "{") or line.startswith(name + " ")
        if named and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _scrape(base: str) -> str:
    response = requests.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=15
    )
    assert response.status_code == 200, response.text
    return response.text


def test_probes_answer_and_readyz_names_what_fails(served):
    assert requests.get(f"{served.proxy}/livez", timeout=10).json() == {"status": "ok"}
    ready = requests.get(f"{served.proxy}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["failing"] == [] and body["outbox"]["ok"] and body["kafka"]["ok"]


def test_metrics_count_every_worker_and_need_the_token(served):
    assert requests.get(f"{served.web}/metrics", timeout=10).status_code == 401
    wrong = requests.get(
        f"{served.web}/metrics", headers={"Authorization": "Bearer no"}, timeout=10
    )
    assert wrong.status_code == 401 and "Bearer" in wrong.headers["WWW-Authenticate"]
    labels = {"view": "livez", "method": "GET", "status": "200"}
    before = _metric(_scrape(served.web), "flex_http_requests_total", **labels)
    with ThreadPoolExecutor(12) as pool:
        statuses = list(
            pool.map(lambda _: requests.get(f"{served.web}/livez").status_code, range(90))
        )
    assert statuses == [200] * 90
    pids = {
        re.search(r"_(\d+)\.db$", p.name).group(1) for p in served.metrics_dir.glob("counter_*.db")
    }
    assert len(pids) >= 2, f"one process answered everything: {pids}"
    # Whichever worker answers a scrape reports every worker's requests.
    for _ in range(8):
        text = _scrape(served.web)
        assert _metric(text, "flex_http_requests_total", **labels) == before + 90
    assert "flex_http_request_duration_seconds_bucket" in text
    for name in ("flex_outbox_backlog", "flex_seal_lag_seconds", "flex_delivery_failures_total"):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert _metric(text, "flex_audit_records_total", outcome="denied") >= 2  # the refusals above
    assert "flex_rbac_reloads_total" in text


def test_behind_nginx_records_name_the_real_client_and_links_are_https(served, world):
    _, secret = tokens.issue(world["user"], "deploy")
    auth = {"Authorization": "Token flex_not-a-token"}
    assert _get(served.proxy, "/api/clusters/", headers=auth)[0] == 401
    spoofed = {**auth, "X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "https"}
    assert _get(served.web, "/api/clusters/", source="127.0.0.1", headers=spoofed)[0] == 401
    refused = AuditRecord.objects.filter(event="auth/api-refused").order_by("ts")
    assert [r.document["ctx"]["client-ip"] for r in refused] == [CLIENT_ADDRESS, "127.0.0.1"]
    # The audit API's next link: https through the proxy; http for a direct client that
    # claims https from 127.0.0.1 (gunicorn would have believed it by default).
    token = {"Authorization": f"Token {secret}", "X-Forwarded-Proto": "https"}
    for _ in range(2):
        record_event(actor=actor_for_user(world["user"]), type="auth/login", event="auth/login",
                     request={}, ctx=Ctx())  # fmt: skip
    status, headers, body = _get(served.proxy, "/api/audit/?mine=1&limit=1", headers=token)
    assert status == 200, body
    assert json.loads(body)["next"].startswith("https://127.0.0.1:")
    assert headers["Cache-Control"] == "no-store" and "Content-Security-Policy" in headers
    status, _, body = _get(
        served.web, "/api/audit/?mine=1&limit=1", source="127.0.0.1", headers=token
    )
    assert json.loads(body)["next"].startswith("http://127.0.0.1:")
    assert PROXY_ADDRESS not in str(list(refused.values_list("document", flat=True)))


def test_300_concurrent_actions_from_20_clients_over_3_web_processes(stack, served, world, ledger):
    secret = tokens.issue(world["user"], "deploy")[1]
    clients = [HttpActor(served.proxy, secret, world["cluster_id"], ledger) for _ in range(20)]
    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda actor: [actor.next() for _ in range(15)], clients))
    elapsed = time.monotonic() - started
    assert len(ledger.actions) == 300
    statuses = [s for actor in clients for s in actor.statuses]
    assert set(statuses) <= {201, 403}, sorted(set(statuses))
    ledger.figures["actions_per_s"] = round(300 / elapsed, 1)
    finish(ledger, stack, time.monotonic())
    ledger.report()


def test_a_policy_change_reaches_every_web_process_within_2_seconds(served, world):
    secret = tokens.issue(world["user"], "deploy")[1]
    headers = {"Authorization": f"Token {secret}", "Connection": "close"}
    topics = f"{served.web}/api/clusters/{world['cluster_id']}/topics"

    def delete(n: int) -> int:
        url = f"{topics}/absent-{n}-{time.monotonic_ns()}"
        return requests.delete(url, headers=headers, timeout=15).status_code

    with ThreadPoolExecutor(12) as pool:
        assert set(pool.map(delete, range(36))) == {403}  # every worker compiled: denied
        Policy.objects.create(
            resource=["cluster", "*"], effect="Allow", actions=["TOPIC_DELETE"], roles=["platform"]
        )
        changed = time.monotonic()
        time.sleep(max(0.0, 2.0 - (time.monotonic() - changed)))
        after = list(pool.map(delete, range(60)))
    assert 403 not in after, after  # allowed now: the topic is simply not there
