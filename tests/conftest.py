"""The real test stack: PostgreSQL, Redis with a Celery worker, Tansu, loopback HTTP stand-ins."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from flex import tansu
from standins.http import Handler, StubServer

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The tests run on PostgreSQL: use `make test` (or set DATABASE_URL, REDIS_URL)."
        )
    _ledger_for_tests()


def _ledger_for_tests() -> None:
    """The tests' own signing key (this process and the workers it starts), and no
    checkpoint made behind a test's back: tests that want one make it, or ask a worker."""
    import tempfile

    from audit.signing import generate_key_file

    path = Path(tempfile.mkdtemp(prefix="flex-test-keys-")) / "audit-signing.pem"
    generate_key_file(path)
    os.environ["FLEX_AUDIT_SIGNING_KEY_FILE"] = settings.FLEX_AUDIT_SIGNING_KEY_FILE = str(path)
    os.environ["FLEX_AUDIT_CHECKPOINT_SECONDS"] = "3600"
    settings.FLEX_AUDIT_CHECKPOINT_SECONDS = 3600


class Broker:
    """A Tansu broker on a free port that a test may stop and start again (it comes back empty)."""

    def __init__(self, log: Path) -> None:
        self.port = tansu.free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = tansu.start(self.port, cluster_id="flex-test", log=self.log)

    def stop(self) -> None:
        if self.process:
            tansu.stop(self.process)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real Kafka-protocol broker for the session; the primary cluster points at it."""
    b = Broker(tmp_path_factory.mktemp("tansu") / "tansu.log")
    b.start()
    previous = settings.KAFKA_BOOTSTRAP_SERVERS
    settings.KAFKA_BOOTSTRAP_SERVERS = b.bootstrap
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = b.bootstrap
    yield b
    settings.KAFKA_BOOTSTRAP_SERVERS = previous
    b.stop()


@pytest.fixture
def kafka(broker: Broker, db: None) -> Iterator[Broker]:
    """The broker, running, with fresh admin clients for this test."""
    from topics import kafka as kafka_client

    if broker.process is None or broker.process.poll() is not None:
        broker.start()
    kafka_client.reset_clients()
    yield broker
    kafka_client.reset_clients()


class Worker:
    """A real Celery worker process on the test Redis database and the test PostgreSQL database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        out = open(self.log, "ab")  # noqa: SIM115  (owned by the child)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "flex",
                "worker",
                "--pool=threads",
                "--concurrency=2",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited; see {self.log}")
            if b"ready." in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the Celery worker did not start in {timeout} s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def redis_flush() -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    client.close()


@pytest.fixture
def celery_worker(transactional_db: None, broker: Broker, tmp_path: Path) -> Iterator[Worker]:
    """A Celery worker process for this test. Tests using it see committed data only
    (``transactional_db``), as the worker does."""
    from django.db import connection

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
    redis_flush()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FLEX_TEST_DB_NAME": "",
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "REDIS_URL": settings.REDIS_URL,
        "FLEX_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
    }
    for key in ("SLACK_WEBHOOK_URL", "WEBHOOK_URL", "SLACK_WEBHOOK_VERBOSITY"):
        value = getattr(settings, key, None)
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    worker = Worker(env, tmp_path / "celery.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def http_stub() -> Iterator[Callable[[Handler], StubServer]]:
    """Start loopback HTTP stand-ins: ``http_stub(handler)`` returns a running StubServer."""
    servers: list[StubServer] = []

    def start(handler: Handler) -> StubServer:
        server = StubServer(handler).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, step: float = 0.1) -> object:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def run_together(task: Callable[[], object], count: int = 2, timeout: float = 60.0) -> list:
    """Run ``task`` in ``count`` threads released at once (each on its own database
    connection, closed after); their results, in the order they finished."""
    import threading

    from django.db import connection

    results: list = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        try:
            results.append(task())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


# Personas (healthchecks' Alice/Bob/Charlie): alice admin, bob member of team platform,
# carol auditor, mallory outsider.
PERSONAS = {
    "alice": {"roles": ["admin", "admins"], "name": "Alice Admin"},
    "bob": {"roles": ["member", "platform"], "name": "Bob Builder"},
    "carol": {"roles": ["member", "auditors"], "name": "Carol Checker"},
    "mallory": {"roles": [], "name": "Mallory Outsider"},
}


@pytest.fixture
def personas(db: None) -> dict:
    """Users with GitHub-style profiles and roles; admins and auditors as access settings say."""
    from django.contrib.auth import get_user_model

    from rbac.models import AccessSettings, Profile

    access = AccessSettings.load()
    access.authorized_roles = ["admin", "member"]
    access.admin_roles = ["admins"]
    access.auditor_roles = ["auditors"]
    access.save()
    users = {}
    for login, spec in PERSONAS.items():
        user = get_user_model().objects.create_user(login, f"{login}@example.com", "pw-" + login)
        Profile.objects.create(
            user=user,
            provider="github",
            login=login,
            name=spec["name"],
            email=f"{login}@example.com",
            provider_roles=spec["roles"],
        )
        users[login] = user
    return users


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """PBKDF2 costs ~1 s per persona on 2 cores; tests check who signs in, not hash strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_signing_keys() -> None:
    """A key listed in a rolled-back test is not listed in the next one: check again."""
    from audit import signing

    signing.forget_listed()


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """Sign-in and refused-token counters live in Redis across tests: each test starts at 0."""
    from django.core.cache import caches

    shared = caches["shared"]
    if not hasattr(shared, "_cache") or not hasattr(shared._cache, "get_client"):
        shared.clear()  # per-process memory
        return
    client = shared._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{shared.key_prefix}:*"):
        client.delete(key)


@pytest.fixture(autouse=True)
def _fresh_policies() -> Iterator[None]:
    """Each test decides on its own policies: a rolled-back test's compiled policies must
    not linger in this process's cache for the next one."""
    from rbac import engine

    engine.invalidate()
    yield
    engine.invalidate()
