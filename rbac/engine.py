"""The decision engine.

``decide(roles, action, resource)`` starts at deny and gathers the enabled policies
whose role the user holds (``*`` is anyone), whose actions include the action (a policy
naming ``TOPIC_DATA_QUERY`` decides ``TOPIC_INSPECT`` and back) and whose resource
covers the target. Any matching Deny denies; else any matching Stage refuses (Flex has
no approval flow yet, so a Stage policy never allows); else any matching Allow allows;
else it is denied. The decision lists every matching policy, in policy order.

Policies are compiled once per process into a ``PolicySet`` (``rbac.index``: broad
policies by action and role, named ones by exact name, prefix and suffix), with an LRU
of recent decisions. A database trigger bumps the ``PolicyVersion`` row in the same
transaction as every write to the policy table; each process compares that stamp with
the one it compiled at, at most every ``RECHECK_SECONDS``, so a change made anywhere
reaches every web and worker process within that time plus one query. A write made in
this process (``rbac.staleness``) is seen by the next decision.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from django.db import DatabaseError
from django.db.models import TextField
from django.db.models.functions import Cast

from rbac import staleness
from rbac.index import (
    ANY,
    MEMO_SIZE,
    CompiledPolicy,
    Decision,
    PolicySet,
    holds,
    policy_record,
    resource_covers,
)
from rbac.models import Policy, PolicyVersion

__all__ = [
    "ANY",
    "MEMO_SIZE",
    "CompiledPolicy",
    "Decision",
    "PolicySet",
    "compile_policies",
    "current_policy_set",
    "decide",
    "holds",
    "invalidate",
    "load_policy_set",
    "load_policy_rows",
    "policy_record",
    "read_stamp",
    "resource_covers",
]

log = logging.getLogger("flex.rbac")

RECHECK_SECONDS = 1.0


class PolicyRow(NamedTuple):
    """An enabled policy as loaded for compiling (what ``compile_policies`` reads)."""

    pk: int
    resource: list
    effect: str
    actions: list
    roles: list
    enabled: bool = True


@contextmanager
def without_gc() -> Iterator[None]:
    """Pause the cyclic collector: compiling 10,000 policies allocates ~100,000 containers,
    and the full passes over the heap that triggers cost a third of the compile. Nothing
    built here is garbage; the collector runs again as soon as the block ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def compile_policies(policies: Iterable) -> PolicySet:
    """Compile Policy rows (or anything with the same attributes); disabled ones are skipped."""
    with without_gc():
        return _compile(policies)


def _compile(policies: Iterable) -> PolicySet:
    return PolicySet(
        CompiledPolicy(
            tuple(p.resource),
            p.effect,
            frozenset(p.actions),
            frozenset(p.roles),
            policy_record(p.resource, p.roles, p.effect, p.actions),
            getattr(p, "pk", None),
        )
        for p in policies
        if p.enabled
    )


def read_stamp() -> tuple[int, int]:
    """The policy table's version stamp, bumped by the trigger on every write."""
    row = PolicyVersion.objects.filter(pk=1).values_list("version", "token").first()
    return row or (0, 0)


def load_policy_rows() -> list[PolicyRow]:
    """The enabled policies in order, their JSON columns read as text and parsed at once.

    Letting the JSON field decode each value costs three ``json.loads`` calls and a
    converter per row (~4x the fetch at 10,000 policies); one call per column does not.
    """
    columns = [Cast(name, TextField()) for name in ("resource", "actions", "roles")]
    with without_gc():
        return _parse_rows(
            Policy.objects.filter(enabled=True)
            .order_by("position", "id")
            .values_list("pk", "effect", *columns)
        )


def _parse_rows(query: Iterable[tuple]) -> list[PolicyRow]:
    rows = list(query)
    resources, actions, roles = (
        json.loads("[" + ",".join(row[column] for row in rows) + "]") for column in (2, 3, 4)
    )
    return [
        PolicyRow(row[0], resources[n], row[1], actions[n], roles[n]) for n, row in enumerate(rows)
    ]


def load_policy_set() -> PolicySet:
    return compile_policies(load_policy_rows())


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.policy_set: PolicySet | None = None
        self.stamp: tuple | None = None
        self.writes = -1  # this process's policy writes when compiled (rbac.staleness)
        self.checked_at = -math.inf

    def current(self) -> PolicySet:
        policy_set = self.policy_set
        if (
            policy_set is not None
            and self.writes == staleness.writes()
            and time.monotonic() - self.checked_at < RECHECK_SECONDS
        ):
            return policy_set
        return self._refresh()

    def _refresh(self) -> PolicySet:
        with self.lock:
            now, writes = time.monotonic(), staleness.writes()
            if self._fresh(now, writes):
                return self.policy_set
            try:
                # The stamp (and the write count) are read before the policies: a change
                # landing in between leaves an older one, so the next check compiles again.
                stamp = read_stamp()
                if self.policy_set is None or stamp != self.stamp or writes != self.writes:
                    self.policy_set = load_policy_set()
                    self.stamp, self.writes = stamp, writes
            except DatabaseError:
                if self.policy_set is None:
                    raise
                log.warning("rbac: policy version check failed; keeping the compiled policies")
            self.checked_at = now
            return self.policy_set

    def _fresh(self, now: float, writes: int) -> bool:
        return (
            self.policy_set is not None
            and writes == self.writes
            and now - self.checked_at < RECHECK_SECONDS
        )

    def clear(self) -> None:
        with self.lock:
            self.policy_set = None
            self.stamp = None
            self.checked_at = -math.inf


_cache = _Cache()


def decide(roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
    """Decide whether a holder of ``roles`` may take ``action`` on ``resource``."""
    return _cache.current().decide(roles, action, resource)


def current_policy_set() -> PolicySet:
    """This process's compiled policies (recompiled first if the table changed)."""
    return _cache.current()


def invalidate() -> None:
    """Forget this process's compiled policies (the next decision recompiles)."""
    _cache.clear()
