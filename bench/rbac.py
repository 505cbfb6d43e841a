"""RBAC decisions per second through ``rbac.decide`` (10 to 10,000 policies) beside a dict lookup.

The policies are real rows in a scratch database (PostgreSQL under ``make bench``, SQLite
in memory otherwise); ``rbac.decide`` is the public path the gate takes: the compiled
PolicySet, its (action, role) index and LRU, and the once-a-second version check. Two more
figures per size: the index without the LRU (every decision evaluated), and compiling.
The baseline is a plain dict lookup of precomputed answers for the same queries.
Run: ``python -m bench.rbac``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

SIZES = (10, 100, 1_000, 10_000)
TARGET = 100_000  # decisions/s with 1,000 policies
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


def measure(count: int) -> list[dict]:
    import rbac
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
    answers = {(frozenset(r), a, res): policy_set.evaluate(r, a, res) for r, a, res in queries}

    def lookup(roles, action, resource):
        return answers[(frozenset(roles), action, tuple(resource))]

    baseline = per_second(lookup, queries)
    public = per_second(rbac.decide, queries)
    unmemoised = per_second(policy_set.evaluate, queries)
    allowed = sum(1 for d in answers.values() if d.success)
    label = f"{count:,} policies"
    return [
        _row(f"rbac.decide, {label}", public, baseline, TARGET if count == 1_000 else None),
        _row(f"index without LRU, {label}", unmemoised, baseline, None),
        {
            "name": f"compile {label} (from the database)",
            "value": round(compile_ms, 1),
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "target": None,
            "ok": None,
        },
        {
            "name": f"queries allowed, {label}",
            "value": allowed,
            "unit": f"of {len(answers)}",
            "baseline": None,
            "ratio": None,
            "target": None,
            "ok": None,
        },
    ]


def _row(name: str, value: float, baseline: float, target: int | None) -> dict:
    return {
        "name": name,
        "value": round(value),
        "unit": "decisions/s",
        "baseline": round(baseline),
        "ratio": round(value / baseline, 3),
        "target": target,
        "ok": None if target is None else value >= target,
    }


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
        return rows
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        database["TEST"] = saved_test


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flex.settings")
    django.setup()
    for row in main():
        line = f"{row['name']:<45} {row['value']:>12,} {row['unit']}"
        if row["baseline"]:
            line += f"  (dict lookup {row['baseline']:,}/s, ratio {row['ratio']})"
        if row["target"]:
            line += f"  target >= {row['target']:,}: {'ok' if row['ok'] else 'MISSED'}"
        print(line)
