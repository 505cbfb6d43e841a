"""When audit jobs run: after each commit (``kick``), on a retry timer, and from the sweep.

A job is a sink's drain (``audit/outbox.py``) or sealing (``chain``: ``chain.seal_batch``).
After commit, ``kick`` asks for each job to run soon; ``run`` does the work until nothing
is due, and schedules the retry of rows that backed off. The beat sweep (the
``audit.sweep`` task) kicks every job again, so records survive Kafka, Redis, Slack and
worker outages: nothing depends on the after-commit kick arriving.

``kick`` never raises and never waits: a background thread of the process talks to Redis
(with Redis down it gives up within a second and stays quiet for a few seconds; the sweep
picks the rows up later) and sends the ``audit.run_job`` task by name (``RUN_JOB``; the
task itself is defined in ``audit/tasks.py``, which imports this module, never the other
way round). Without Redis (``CELERY_TASK_ALWAYS_EAGER``, ``make run``) jobs run on a
background thread of the web process, so a sink that is down never holds up a request.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, connection

from audit import chain, outbox
from audit.transports import SINKS

log = logging.getLogger("flex.audit")

RUN_JOB = "audit.run_job"  # the Celery task that runs one job (audit/tasks.py)
RETRY_HORIZON = 90.0  # retries due sooner are scheduled; later ones wait for the sweep
RUN_BUDGET = 20.0  # seconds one drain task works before handing over to a fresh one
KICK_TTL = 30  # seconds a pending kick suppresses further kicks (if its task got lost)
KICK_GAP = 0.02  # seconds between two kicks from one process: a busy one sends 50/s, not 1000/s
REDIS_QUIET = 5.0  # seconds to stop trying Redis after it failed


# Jobs that follow sealing (the ledger's checkpoints), added by their app when it is ready:
# name -> (the job, how many seconds after a sealing run it is due).
AFTER_SEALING: dict[str, tuple[Callable[[], object], Callable[[], float]]] = {}


def after_sealing(name: str, job: Callable[[], object], delay: Callable[[], float]) -> None:
    """Run ``job`` ``delay()`` seconds after a sealing run that sealed something."""
    AFTER_SEALING[name] = (job, delay)


def jobs() -> list[str]:
    """Everything a sweep runs: the enabled sinks' drains and sealing."""
    return [*outbox.enabled_sinks(), chain.JOB]


def _job(name: str, deadline: float) -> int:
    if name == chain.JOB:
        return chain.seal_batch()
    return outbox.drain(name, deadline=deadline)


def _follow_up(name: str) -> None:
    """Run a job that follows sealing, once."""
    scheduler = _scheduler()
    scheduler.retried(name)
    scheduler.clear(name)
    AFTER_SEALING[name][0]()


def run(name: str, *, budget: float = RUN_BUDGET, retry: bool = False) -> int:
    """Run job ``name`` (a sink's drain, or sealing) until nothing is due; the records handled.

    Past ``budget`` seconds it kicks a fresh task to go on, so one busy sink never
    holds a worker for long. A retry due within ``RETRY_HORIZON`` is scheduled; later
    ones are the sweep's. ``retry`` says this run is such a scheduled retry.
    """
    if name in AFTER_SEALING:
        _follow_up(name)
        return 0
    scheduler = _scheduler()
    if retry:
        scheduler.retried(name)
    if name in SINKS and not SINKS[name].enabled():
        return 0
    deadline = time.monotonic() + budget
    total = 0
    while time.monotonic() < deadline:
        scheduler.clear(name)  # a commit from now on kicks again
        handled = _job(name, deadline)
        total += handled
        if handled:
            if name == chain.JOB:
                for follower, (_, delay) in AFTER_SEALING.items():
                    scheduler.later(follower, delay())
            continue
        delay = _next_due(name)
        if delay is not None and delay <= RETRY_HORIZON:
            # Overdue yet not claimed: it just became due, or a concurrent claim holds it.
            scheduler.later(name, max(delay, 0.5))
        return total
    kick([name])
    return total


def _next_due(name: str) -> float | None:
    return None if name == chain.JOB else outbox.next_due(name)


# Scheduling ----------------------------------------------------------------------------


def kick(names: Iterable[str]) -> None:
    """Ask for these jobs (sinks, or ``chain``) to run soon. Never raises; never hangs."""
    names = list(dict.fromkeys(names))
    if names:
        _scheduler().kick(names)


def _scheduler() -> _Celery | _Local:
    return _local if settings.CELERY_TASK_ALWAYS_EAGER else _celery


class _Celery:
    """Kicks through Redis: one pending task per sink (a SET NX flag), then Celery.

    A request only hands the names to a background thread of its process, so neither a
    slow nor a dead Redis ever holds it up; the thread gives up on Redis for a few
    seconds after a failure (the sweep delivers what it could not announce).
    """

    KICK = "flex:audit:kick:"
    RETRY = "flex:audit:retry:"

    def __init__(self) -> None:
        self.quiet_until = 0.0
        self._client = None
        self._url = None
        self._wanted: set[str] = set()
        self._cond = threading.Condition()
        self._thread_pid: int | None = None

    def client(self):
        import redis

        url = settings.CELERY_BROKER_URL
        if self._client is None or self._url != url:
            self._client = redis.Redis.from_url(
                url, socket_timeout=1, socket_connect_timeout=1, health_check_interval=30
            )
            self._url = url
        return self._client

    def kick(self, names: list[str]) -> None:
        with self._cond:
            self._wanted.update(names)
            if self._thread_pid != os.getpid():  # first kick here, or a forked process
                self._thread_pid = os.getpid()
                threading.Thread(target=self._loop, name="audit-kick", daemon=True).start()
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._wanted:
                    self._cond.wait()
                names, self._wanted = sorted(self._wanted), set()
            self.send(names)
            time.sleep(KICK_GAP)  # kicks arriving meanwhile go out together

    def send(self, names: list[str]) -> None:
        if time.monotonic() < self.quiet_until:
            return
        try:
            pipe = self.client().pipeline(transaction=False)
            for name in names:
                pipe.set(self.KICK + name, "1", nx=True, ex=KICK_TTL)
            for name, fresh in zip(names, pipe.execute(), strict=True):
                if fresh:
                    current_app.send_task(RUN_JOB, args=[name], retry=False)
        except Exception as exc:  # Redis down: the sweep delivers these later
            self.quiet_until = time.monotonic() + REDIS_QUIET
            log.warning("audit: could not queue delivery (%s); the sweep will", exc)

    def clear(self, name: str) -> None:
        try:
            self.client().delete(self.KICK + name)
        except Exception:  # the flag expires by itself
            log.debug("audit: could not clear the kick flag of %s", name, exc_info=True)

    def later(self, name: str, delay: float) -> None:
        due = time.time() + delay
        try:
            client = self.client()
            pending = client.get(self.RETRY + name)
            if pending and time.time() < float(pending) <= due + 0.5:
                return  # a retry due no later is already scheduled
            client.set(self.RETRY + name, str(due), ex=int(delay) + 5)
            current_app.send_task(
                RUN_JOB, args=[name], kwargs={"retry": True}, countdown=delay, retry=False
            )
        except Exception as exc:
            log.warning("audit: could not schedule a retry for %s (%s)", name, exc)

    def retried(self, name: str) -> None:
        """A scheduled retry has started: the next one may be scheduled again."""
        try:
            self.client().delete(self.RETRY + name)
        except Exception:  # the key expires by itself
            log.debug("audit: could not clear the retry key of %s", name, exc_info=True)


class _Local:
    """In-process drains for ``CELERY_TASK_ALWAYS_EAGER``: one background thread per job."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wanted: set[str] = set()
        self.running: set[str] = set()
        self.timers: dict[str, float] = {}

    def kick(self, names: list[str]) -> None:
        with self.lock:
            self.wanted.update(names)
            start = [n for n in names if n not in self.running]
            self.running.update(start)
        for name in start:
            threading.Thread(target=self._loop, args=(name,), daemon=True).start()

    def _loop(self, name: str) -> None:
        try:
            while True:
                with self.lock:
                    if name not in self.wanted:
                        self.running.discard(name)
                        return
                    self.wanted.discard(name)
                try:
                    close_old_connections()
                    run(name, budget=60.0)
                except Exception:  # the next kick tries again
                    log.exception("audit: in-process delivery to %s failed", name)
        finally:
            connection.close()

    def clear(self, name: str) -> None:
        pass

    def later(self, name: str, delay: float) -> None:
        due = time.monotonic() + delay
        with self.lock:
            pending = self.timers.get(name)
            if pending and time.monotonic() < pending <= due + 0.5:
                return
            self.timers[name] = due
        timer = threading.Timer(delay, self._fire, args=(name,))
        timer.daemon = True
        timer.start()

    def _fire(self, name: str) -> None:
        self.retried(name)
        self.kick([name])

    def retried(self, name: str) -> None:
        with self.lock:
            self.timers.pop(name, None)


_celery = _Celery()
_local = _Local()
