"""``make serve``: Flex as deployed — gunicorn, Celery workers and one beat, supervised.

It refuses to start with ``DEBUG`` on or without ``DATABASE_URL``, ``REDIS_URL`` and
``SECRET_KEY`` (naming what is missing) and while migrations are unapplied. Every process
shares one ``PROMETHEUS_MULTIPROC_DIR`` (a fresh one under ``FLEX_VAR_DIR`` unless given),
so ``/metrics`` answers for all of them. If any process exits, the others are stopped and
``make serve`` exits with an error: the process manager above it restarts the whole.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REQUIRED = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")


def refusals(env: Mapping[str, str]) -> list[str]:
    """Why this environment is not a production one; [] when it is."""
    problems = [f"{name} is not set" for name in REQUIRED if not env.get(name, "").strip()]
    if env.get("DEBUG", "").strip().lower() not in ("0", "false", "no", "off"):
        problems.append("DEBUG must be off (DEBUG=false)")
    return problems


def commands(env: Mapping[str, str], var: Path) -> dict[str, list[str]]:
    """The processes, by name: gunicorn, the Celery worker(s) and one beat."""
    workers = env.get("FLEX_CELERY_WORKERS", "").strip() or "2"
    queue = env.get("FLEX_CELERY_QUEUE", "").strip() or "flex"
    celery = [PYTHON, "-m", "celery", "-A", "flex"]
    return {
        "web": [PYTHON, "-m", "gunicorn", "-c", "python:flex.gunicorn_conf", "flex.wsgi"],
        "worker": [*celery, "worker", "-Q", queue, f"--concurrency={workers}", "-l", "info"],
        "beat": [*celery, "beat", "-l", "info", "-s", str(var / "celerybeat-schedule")],
    }


def _migrations_applied(env: Mapping[str, str]) -> bool:
    check = [PYTHON, str(ROOT / "manage.py"), "migrate", "--check", "--no-input", "-v", "0"]
    return subprocess.run(check, cwd=ROOT, env=dict(env)).returncode == 0


def main(env: Mapping[str, str] = os.environ) -> int:
    problems = refusals(env)
    if problems:
        print("flex serve: refusing to start: " + "; ".join(problems), file=sys.stderr)
        return 2
    if not _migrations_applied(env):
        print(
            "flex serve: refusing to start: migrations are not applied "
            "(run `python manage.py migrate` first)",
            file=sys.stderr,
        )
        return 2
    var = Path(env.get("FLEX_VAR_DIR") or ROOT / "var")
    child_env = dict(env)
    if not child_env.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics = var / "prometheus"
        shutil.rmtree(metrics, ignore_errors=True)  # counts restart with the processes
        metrics.mkdir(parents=True)
        child_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    children = {
        name: subprocess.Popen(args, cwd=ROOT, env=child_env)
        for name, args in commands(env, var).items()
    }
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        while not stopping:
            exited = [name for name, child in children.items() if child.poll() is not None]
            if exited:
                print(f"flex serve: {', '.join(exited)} exited; stopping", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(list(children.values()))


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    sys.exit(main())
