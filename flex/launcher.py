"""``make run``: migrate, start what Flex needs, serve on :8000, stop it all on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from flex import tansu

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def manage(*args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def port_open(port: int) -> bool:
    try:
        tansu.wait_for_port(port, timeout=0.3)
    except RuntimeError:
        return False
    return True


def main(*, setup: Sequence[Sequence[str]] = (), started: Sequence[subprocess.Popen] = ()) -> int:
    """Run Flex. ``setup``: more manage.py commands to run after migrating; ``started``:
    processes already running to watch and stop with the rest (``make demo`` uses both)."""
    env = os.environ
    children: list[subprocess.Popen] = list(started)
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    try:
        if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
            if port_open(9092):
                print("flex: something already listens on 127.0.0.1:9092; using it as the broker")
            else:
                print("flex: starting the bundled Tansu broker on 127.0.0.1:9092 (memory only)")
                children.append(tansu.start(9092, log=var / "tansu.log"))
        manage("migrate", "--no-input", "-v", "0")
        manage("ensure_admin")
        for command in setup:
            try:
                manage(*command)
            except subprocess.CalledProcessError:
                print(f"flex: `manage.py {' '.join(command)}` failed; continuing without it")
        if env.get("REDIS_URL"):
            celery = [PYTHON, "-m", "celery", "-A", "flex"]
            children.append(subprocess.Popen([*celery, "worker", "-l", "info"], cwd=ROOT))
            children.append(
                subprocess.Popen(
                    [
                        *celery,
                        "beat",
                        "-l",
                        "info",
                        "-s",
                        str(var / "celerybeat-schedule"),
                    ],
                    cwd=ROOT,
                )
            )
        else:  # no beat without a broker: the same schedule, run by a process of its own
            children.append(
                subprocess.Popen([PYTHON, str(ROOT / "manage.py"), "run_periodic"], cwd=ROOT)
            )
        addr = env.get("FLEX_LISTEN", "127.0.0.1:8000")
        print(f"flex: serving on http://{addr}/   (Ctrl-C stops everything)")
        server = subprocess.Popen(
            [PYTHON, str(ROOT / "manage.py"), "runserver", "--noreload", addr], cwd=ROOT
        )
        children.append(server)
        while server.poll() is None:
            time.sleep(0.5)
            for child in list(children):
                if child.poll() is not None and child is not server:
                    name = " ".join(str(a) for a in child.args[1:4])
                    print(f"flex: {name} exited ({child.returncode}); the portal keeps serving")
                    children.remove(child)
        return server.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in reversed(children):
            if child.args and "broker" in child.args:
                tansu.stop(child)
            else:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        print("flex: stopped")


if __name__ == "__main__":
    sys.exit(main())
