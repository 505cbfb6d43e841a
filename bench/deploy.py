"""Actions per second through ``make serve`` with 1 and with 3 web processes (same run).

One run, one scratch database (``flex_bench_deploy``), one Tansu broker: for each web process
count, ``python -m flex.serve`` starts; 20 clients with API tokens issue 300 actions at once
(one topic create for every two denied deletes, as tests/deploy does); the figure is actions
per second of wall time until the last answer. The 1-process figure is the 3-process one's
baseline. Run: ``python -m bench.deploy`` (``FLEX_BENCH_DEPLOY_ACTIONS`` to change 300).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.rows import row
from bench.views import child_env, run_psql, server_url

ROOT = Path(__file__).resolve().parent.parent
DB = "flex_bench_deploy"
ACTIONS = int(os.environ.get("FLEX_BENCH_DEPLOY_ACTIONS", "300"))
CLIENTS = 20
WEB_PROCESSES = (1, 3)


def _setup() -> dict:
    """In the scratch database: bob may create topics; a token for each client."""
    from django.contrib.auth import get_user_model

    from flex import tokens
    from rbac.models import AccessSettings, Policy, Profile
    from topics import kafka
    from topics.models import primary_cluster

    access = AccessSettings.load()
    access.authorized_roles = ["member"]
    access.save()
    user = get_user_model().objects.create_user("bench-bob")
    Profile.objects.create(user=user, provider="github", login="bench-bob",
                           provider_roles=["member", "platform"])  # fmt: skip
    Policy.objects.create(resource=["cluster", "*"], effect="Allow", actions=["TOPIC_CREATE"],
                          roles=["platform"])  # fmt: skip
    cluster = primary_cluster()
    kafka.describe_cluster(cluster)
    cluster.refresh_from_db()
    secrets = [tokens.issue(user, f"bench-{n}")[1] for n in range(CLIENTS)]
    return {"cluster": cluster.key, "tokens": secrets}


def _client(base: str, cluster: str, token: str, count: int) -> list[int]:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    topics = f"{base}/api/clusters/{cluster}/topics"
    statuses = []
    for n in range(count):
        name = f"bench-{uuid.uuid4().hex[:12]}"
        if n % 3 == 0:
            body = {"name": name, "partitions": 1, "replication_factor": 1}
            response = session.post(topics, json=body, timeout=30)
        else:
            response = session.delete(f"{topics}/{name}", timeout=30)
        statuses.append(response.status_code)
    return statuses


def _serve(env: dict, web: int, port: int, log: Path) -> subprocess.Popen:
    env = {**env, "FLEX_WEB_WORKERS": str(web), "FLEX_LISTEN": f"127.0.0.1:{port}"}
    out = open(log, "ab")  # noqa: SIM115  (the child's)
    process = subprocess.Popen(
        [sys.executable, "-m", "flex.serve"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/livez", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError(f"flex serve did not start; see {log}")


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def actions_per_second(env: dict, world: dict, web: int, var: Path) -> float:
    from flex import tansu

    port = tansu.free_port()
    process = _serve(env, web, port, var / f"serve-{web}.log")
    try:
        per_client = [ACTIONS // CLIENTS + (n < ACTIONS % CLIENTS) for n in range(CLIENTS)]
        base = f"http://127.0.0.1:{port}"
        start = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            jobs = [pool.submit(_client, base, world["cluster"], token, count)
                    for token, count in zip(world["tokens"], per_client, strict=True)]  # fmt: skip
            statuses = [s for job in jobs for s in job.result()]
        seconds = time.perf_counter() - start
    finally:
        _stop(process)
    unexpected = [s for s in statuses if s not in (201, 403)]
    if unexpected:
        raise RuntimeError(f"unexpected answers: {unexpected[:5]}")
    return len(statuses) / seconds


def main() -> list[dict]:
    from flex import tansu

    var = ROOT / "var" / "bench-deploy"
    var.mkdir(parents=True, exist_ok=True)
    server = server_url()
    run_psql(server, "-c", f"DROP DATABASE IF EXISTS {DB}")
    run_psql(server, "-c", f"CREATE DATABASE {DB}")
    broker_port = tansu.free_port()
    broker = tansu.start(broker_port, log=var / "tansu.log")
    try:
        env = {**child_env(DB), "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker_port}",
               "FLEX_CELERY_QUEUE": "flex-bench-deploy", "FLEX_CELERY_WORKERS": "2",
               "ALLOWED_HOSTS": "127.0.0.1", "FLEX_VAR_DIR": str(var)}  # fmt: skip
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env,
                       check=True)  # fmt: skip
        out = subprocess.run([sys.executable, "-m", "bench.deploy", "--setup"], cwd=ROOT,
                             env=env, check=True, capture_output=True, text=True)  # fmt: skip
        world = json.loads(out.stdout.strip().splitlines()[-1])
        figures = {web: actions_per_second(env, world, web, var) for web in WEB_PROCESSES}
    finally:
        tansu.stop(broker)
    one, three = figures[1], figures[3]
    return [
        row(f"{ACTIONS} actions from {CLIENTS} clients, 1 web process", round(one, 1),
             "actions/s"),
        row(f"{ACTIONS} actions from {CLIENTS} clients, 3 web processes", round(three, 1),
             "actions/s", round(one, 1), round(three / one, 2)),
    ]  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:] == ["--setup"]:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flex.settings")
        django.setup()
        print(json.dumps(_setup()))
    else:
        from bench.rows import print_rows

        print_rows(main())
