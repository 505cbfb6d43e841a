"""RBAC decisions/s (10 to 10,000 policies; 1,000 + 100 temporary; uncached at 10,000) vs a dict.

The policies are real rows in a scratch database (PostgreSQL under ``make bench``, SQLite
in memory otherwise); ``rbac.engine.decide`` is the role-level path behind the gate: the
compiled PolicySet, its index and LRU, and the once-a-second version check. Per size: the
index without the LRU (every decision evaluated), and compiling from the database.
At scale: 10,000 policies over 100 roles with 100 ``team-R-P-*`` prefixes each, 20,000
distinct queries evaluated without the LRU, and the first decision after a change
(stamp check, load, compile, decide), with its load and compile measured apart.
With temporary policies: 1,000 policies plus 100 active temporary ones (to roles and to single
users, expiring in an hour), decided through ``engine.decide`` (which also watches their
earliest expiry) and by the index alone.
The baseline is a plain dict lookup of precomputed answers for the same queries.
Run: ``python -m bench.rbac`` (or ``python -m bench.report bench.rbac`` to update REPORT.md).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable

from bench.rows import row, run_alone

SIZES = (10, 100, 1_000, 10_000)
TARGET = 100_000  # decisions/s with 1,000 policies; uncached at 10,000 over 100 roles
FIRST_TARGET_MS = 100  # the first decision after a change of 10,000 policies
QUERIES = 2_000  # distinct (roles, action, resource) asked, cycled
MIN_SECONDS = 0.5

ROLES = [f"team-{i}" for i in range(50)]
CLUSTERS = [f"c{i}" for i in range(5)]
TOPICS = [f"svc-{i}-{kind}" for i in range(40) for kind in ("events", "state", "dlq")]


def _resource(rng: random.Random) -> list[str]:
    cluster = rng.choice([*CLUSTERS, "*"])
    if rng.random() < 0.2:
        return ["cluster", cluster]
    topic = rng.choice(TOPICS)
    name = rng.choice(
        [topic, topic.rsplit("-", 1)[0] + "-*", "*-" + topic.rsplit("-", 1)[1], "*", topic]
    )
    return ["cluster", cluster, "topic", name]


def make_policies(count: int, rng: random.Random) -> list:
    from rbac.actions import FLEX_ACTIONS
    from rbac.models import Policy

    policies = []
    for position in range(count):
        roles = rng.sample(ROLES, rng.choice((1, 1, 2))) if rng.random() > 0.05 else ["*"]
        deny = rng.random() < 0.1
        # Denies are narrow (one topic), as in real policy files; allows are broader.
        resource = ["cluster", rng.choice(CLUSTERS), "topic", rng.choice(TOPICS)]
        policies.append(
            Policy(
                resource=resource if deny else _resource(rng),
                effect="Deny" if deny else "Allow",
                actions=rng.sample(FLEX_ACTIONS, rng.choice((1, 2, 3))),
                roles=roles,
                position=position,
            )
        )
    return policies


def make_queries(rng: random.Random) -> list[tuple]:
    from rbac.actions import FLEX_ACTIONS

    return [
        (
            tuple(rng.sample(ROLES, 2)),
            rng.choice(FLEX_ACTIONS),
            ("cluster", rng.choice(CLUSTERS), "topic", rng.choice(TOPICS)),
        )
        for _ in range(QUERIES)
    ]


def per_second(decide: Callable, queries: list[tuple]) -> float:
    """Decisions per second, cycling through ``queries`` for at least MIN_SECONDS."""
    for roles, action, resource in queries:  # warm up (fills the LRU, compiles)
        decide(roles, action, resource)
    done, started = 0, time.perf_counter()
    while True:
        for roles, action, resource in queries:
            decide(roles, action, resource)
        done += len(queries)
        elapsed = time.perf_counter() - started
        if elapsed >= MIN_SECONDS:
            return done / elapsed


def speeds(policy_set, queries: list[tuple]) -> tuple[dict, float, float, float]:
    """The answers, then decisions/s: the dict baseline, ``engine.decide``, the index alone."""
    from rbac import engine

    answers = {(frozenset(r), a, res): policy_set.evaluate(r, a, res) for r, a, res in queries}

    def lookup(roles, action, resource):
        return answers[(frozenset(roles), action, tuple(resource))]

    baseline = per_second(lookup, queries)
    return (
        answers,
        baseline,
        per_second(engine.decide, queries),
        per_second(policy_set.evaluate, queries),
    )


def measure(count: int) -> list[dict]:

    from rbac import engine
    from rbac.models import Policy

    rng = random.Random(count)
    Policy.objects.all().delete()
    Policy.objects.bulk_create(make_policies(count, rng), batch_size=1000)
    engine.invalidate()
    started = time.perf_counter()
    policy_set = engine.current_policy_set()
    compile_ms = (time.perf_counter() - started) * 1000
    queries = make_queries(rng)
    answers, baseline, public, unmemoised = speeds(policy_set, queries)
    allowed = sum(1 for d in answers.values() if d.success)
    label = f"{count:,} policies"
    return [
        _row(f"engine.decide, {label}", public, baseline, TARGET if count == 1_000 else None),
        _row(f"index without LRU, {label}", unmemoised, baseline, None),
        row(f"compile {label} (from the database)", round(compile_ms, 1), "ms"),
        row(f"queries allowed, {label}", allowed, f"of {len(answers)}"),
    ]


TEMPORARY = 100
USERS = [f"user:dev-{i}" for i in range(20)]


def make_temporary_policies(rng: random.Random) -> list:
    """100 active grants, to roles and to single users, each on a cluster or a topic."""
    from datetime import UTC, datetime, timedelta

    from rbac.actions import FLEX_ACTIONS
    from rbac.models import TemporaryPolicy

    expires = datetime.now(UTC) + timedelta(hours=1)
    grants = []
    for n in range(TEMPORARY):
        holder = rng.choice(ROLES) if n % 2 else rng.choice(USERS)
        grants.append(
            TemporaryPolicy(
                role=holder if not holder.startswith("user:") else "",
                user_login=holder.removeprefix("user:") if holder.startswith("user:") else "",
                effect="Allow",
                actions=rng.sample(FLEX_ACTIONS, rng.choice((1, 2))),
                resource=_resource(rng),
                reason="bench",
                granted_by="bench",
                expires_at=expires + timedelta(seconds=n),
            )
        )
    return grants


def measure_temporary() -> list[dict]:
    """1,000 policies plus 100 temporary policies; queries from roles and single users."""
    from rbac import engine
    from rbac.actions import FLEX_ACTIONS
    from rbac.models import Policy, TemporaryPolicy

    rng = random.Random(1100)
    Policy.objects.all().delete()
    Policy.objects.bulk_create(make_policies(1_000, rng), batch_size=1000)
    TemporaryPolicy.objects.bulk_create(make_temporary_policies(rng))
    engine.invalidate()
    policy_set = engine.current_policy_set()
    assert policy_set.expires_at is not None and len(policy_set) == 1_000 + TEMPORARY
    queries = [
        (
            (rng.choice(ROLES), rng.choice(USERS)),
            rng.choice(FLEX_ACTIONS),
            ("cluster", rng.choice(CLUSTERS), "topic", rng.choice(TOPICS)),
        )
        for _ in range(QUERIES)
    ]
    answers, baseline, public, unmemoised = speeds(policy_set, queries)
    matched = sum(1 for d in answers.values() if any("temporary-policy" in p for p in d.policies))
    TemporaryPolicy.objects.all().delete()
    label = f"1,000 policies + {TEMPORARY} temporary"
    return [
        _row(f"engine.decide, {label}", public, baseline, TARGET),
        _row(f"index without LRU, {label}", unmemoised, baseline, None),
        row(f"queries a temporary policy matched, {label}", matched, f"of {len(answers):,}"),
    ]


SCALE_ROLES, SCALE_PREFIXES, SCALE_QUERIES = 100, 100, 20_000


def make_scale_policies(rng: random.Random) -> list:
    """10,000 policies: each of 100 roles holds 100 prefixes of its own, ``team-R-P-*``."""
    from rbac.actions import FLEX_ACTIONS
    from rbac.models import Policy

    policies = []
    for role in range(SCALE_ROLES):
        for prefix in range(SCALE_PREFIXES):
            roll = rng.random()
            policies.append(
                Policy(
                    resource=[
                        "cluster",
                        rng.choice([*CLUSTERS, "*"]),
                        "topic",
                        f"team-{role}-{prefix}-*",
                    ],
                    effect="Deny" if roll < 0.07 else "Stage" if roll < 0.1 else "Allow",
                    actions=rng.sample(FLEX_ACTIONS, rng.choice((1, 2, 3))),
                    roles=[f"team-{role}"],
                    position=len(policies),
                )
            )
    return policies


def make_scale_queries(rng: random.Random) -> list[tuple]:
    """Distinct queries: one to three roles, a topic under one of the first role's prefixes."""
    from rbac.actions import FLEX_ACTIONS

    queries = []
    for n in range(SCALE_QUERIES):
        roles = [f"team-{rng.randrange(SCALE_ROLES)}" for _ in range(rng.choice((1, 2, 3)))]
        topic = f"{roles[0]}-{rng.randrange(SCALE_PREFIXES)}-orders-{n}"
        cluster = rng.choice(CLUSTERS)
        queries.append(
            (tuple(roles), rng.choice(FLEX_ACTIONS), ("cluster", cluster, "topic", topic))
        )
    return queries


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def first_decision_ms(query: tuple, repeats: int = 7) -> dict[str, float]:
    """Median ms of the first decision after a change, and of its load and compile alone."""
    from rbac import engine
    from rbac.models import Policy

    first, load, compile_, decide = [], [], [], []
    pk = Policy.objects.values_list("pk", flat=True).first()
    for n in range(repeats):
        Policy.objects.filter(pk=pk).update(description=f"change {n}")  # the trigger bumps
        started = time.perf_counter()
        engine.decide(*query)
        first.append(_ms(started))
        started = time.perf_counter()
        rows = engine.load_policy_rows()
        load.append(_ms(started))
        started = time.perf_counter()
        policy_set = engine.compile_policies(rows)
        compile_.append(_ms(started))
        started = time.perf_counter()
        policy_set.decide(*query)
        decide.append(_ms(started))
    return {
        name: statistics.median(values)
        for name, values in (
            ("first", first),
            ("load", load),
            ("compile", compile_),
            ("decide", decide),
        )
    }


def measure_scale() -> list[dict]:
    from rbac import engine
    from rbac.models import Policy

    rng = random.Random(17)
    Policy.objects.all().delete()
    Policy.objects.bulk_create(make_scale_policies(rng), batch_size=1000)
    engine.invalidate()
    policy_set = engine.current_policy_set()
    queries = make_scale_queries(rng)
    assert len(set(queries)) == len(queries)
    answers = {(frozenset(r), a, res): policy_set.evaluate(r, a, res) for r, a, res in queries}

    def lookup(roles, action, resource):
        return answers[(frozenset(roles), action, tuple(resource))]

    baseline = per_second(lookup, queries)
    uncached = per_second(policy_set.evaluate, queries)
    times = first_decision_ms(queries[0])
    label = "10,000 policies over 100 roles x 100 prefixes"
    allowed = sum(1 for d in answers.values() if d.success)
    matched = sum(1 for d in answers.values() if d.policies)
    return [
        _row(f"uncached decisions (distinct queries), {label}", uncached, baseline, TARGET),
        _ms_row(f"first decision after a change, {label}", times["first"], FIRST_TARGET_MS),
        _ms_row("  of which: load from the database (alone)", times["load"], None),
        _ms_row("  of which: compile_policies (alone)", times["compile"], None),
        _ms_row("  of which: first decide on the new set (alone)", times["decide"], None),
        _count_row(f"queries matched / allowed, {label}", f"{matched:,} matched", allowed, queries),
    ]


def _ms_row(name: str, value: float, target: int | None) -> dict:
    return row(name, round(value, 1), "ms", target=target,
               ok=None if target is None else value <= target)  # fmt: skip


def _count_row(name: str, note: str, allowed: int, queries: list) -> dict:
    return row(f"{name} ({note})", allowed, f"allowed of {len(queries):,}")


def _row(name: str, value: float, baseline: float, target: int | None) -> dict:
    return row(name, round(value), "decisions/s", round(baseline), round(value / baseline, 3),
               target, None if target is None else value >= target)  # fmt: skip


def main() -> list[dict]:
    from django.conf import settings
    from django.db import connection

    database = settings.DATABASES["default"]
    saved_test = dict(database.get("TEST", {}))
    if connection.vendor != "sqlite":  # SQLite: a scratch database in memory
        database["TEST"] = {
            **saved_test,
            "NAME": os.environ.get("FLEX_BENCH_DB", "bench_flex_rbac"),
        }
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        rows = []
        for count in SIZES:
            rows += measure(count)
        return rows + measure_temporary() + measure_scale()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        database["TEST"] = saved_test


if __name__ == "__main__":
    run_alone(main)
