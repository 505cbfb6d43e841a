"""The decision engine.

``decide(roles, action, resource)`` starts at deny and gathers the enabled policies
whose role the user holds (``*`` is anyone), whose actions include the action (a policy
naming ``TOPIC_DATA_QUERY`` decides ``TOPIC_INSPECT`` and back) and whose resource
covers the target. Any matching Deny denies; else any matching Stage refuses (Flex has
no approval flow yet, so a Stage policy never allows); else any matching Allow allows;
else it is denied. The decision lists every matching policy.

Policies are compiled once per process into a ``PolicySet`` indexed by (action, role,
cluster), exact topic names by dict, with an LRU of recent decisions. A database trigger
bumps the ``PolicyVersion`` row in the same transaction as every write to the policy
table; each process compares that stamp with the one it compiled at, at most every
``RECHECK_SECONDS``, so a change made anywhere reaches every web and worker process
within that time plus one query.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rbac.actions import equivalents

log = logging.getLogger("flex.rbac")

RECHECK_SECONDS = 1.0
MEMO_SIZE = 16384
ANY = "*"


@dataclass(frozen=True)
class Decision:
    """The outcome of one decision. Shared between callers through the LRU: do not mutate."""

    success: bool
    action: str
    policies: list[dict] = field(default_factory=list)
    decided_by: dict | None = None
    policy_ids: tuple[int | None, ...] = ()

    def as_record(self) -> dict:
        return {
            "success?": self.success,
            "action": self.action,
            "policies": copy.deepcopy(self.policies),
        }

    @property
    def decided_index(self) -> int | None:
        """Position in ``policies`` of the policy that decided, if any."""
        for index, record in enumerate(self.policies):
            if record is self.decided_by:
                return index
        return None


def _name_matcher(pattern: str) -> Callable[[str], bool]:
    if pattern == ANY:
        return lambda name: True
    if pattern.endswith(ANY):
        prefix = pattern[:-1]
        return lambda name: name.startswith(prefix)
    if pattern.startswith(ANY):
        suffix = pattern[1:]
        return lambda name: name.endswith(suffix)
    return lambda name: name == pattern


def resource_covers(policy_resource: Sequence[str], target: Sequence[str]) -> bool:
    """Whether a policy's resource covers the target resource."""
    if len(policy_resource) < 2 or len(target) < 2:
        return False
    if policy_resource[1] != ANY and policy_resource[1] != target[1]:
        return False
    if len(policy_resource) == 2:
        return True
    if len(target) < 4 or target[2] != policy_resource[2]:
        return False
    return _name_matcher(policy_resource[3])(target[3])


@dataclass(frozen=True)
class CompiledPolicy:
    """One enabled policy, ready to match."""

    resource: tuple[str, ...]
    effect: str
    actions: frozenset[str]
    roles: frozenset[str]
    record: dict
    id: int | None = None

    def covers(self, target: tuple) -> bool:
        return resource_covers(self.resource, target)


class PolicySet:
    """Policies indexed by (action, role, cluster), exact topic names by dict, with an LRU."""

    def __init__(self, policies: Iterable[CompiledPolicy]) -> None:
        self.policies: tuple[CompiledPolicy, ...] = tuple(policies)
        scan: dict[tuple, list] = {}  # (action, role, cluster) -> [(order, policy, covers)]
        exact: dict[tuple, list] = {}  # (action, role, cluster, topic) -> [(order, policy)]
        for order, policy in enumerate(self.policies):
            resource = policy.resource
            exact_topic = len(resource) == 4 and resource[2] == "topic" and ANY not in resource[3]
            for action in policy.actions:
                for role in policy.roles:
                    if exact_topic:
                        key = (action, role, resource[1], resource[3])
                        exact.setdefault(key, []).append((order, policy))
                    else:
                        entry = (order, policy, _within_cluster_fn(resource))
                        scan.setdefault((action, role, resource[1]), []).append(entry)
        self.scan = {key: tuple(entries) for key, entries in scan.items()}
        self.exact = {key: tuple(entries) for key, entries in exact.items()}
        self._memo = lru_cache(maxsize=MEMO_SIZE)(self._evaluate)

    def __len__(self) -> int:
        return len(self.policies)

    def decide(self, roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
        if isinstance(roles, str):
            roles = (roles,)
        try:
            return self._memo(frozenset(roles), action, tuple(resource))
        except TypeError:  # unhashable parts (a list inside the resource): nothing can match
            return Decision(success=False, action=action)

    def evaluate(self, roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
        """Decide without the LRU (benchmarks and tests of the index)."""
        if isinstance(roles, str):
            roles = (roles,)
        return self._evaluate(frozenset(roles), action, tuple(resource))

    def _evaluate(self, roles: frozenset[str], action: str, target: tuple) -> Decision:
        if len(target) < 2:
            return _verdict([], action)
        clusters = (target[1], ANY)
        topic = target[3] if len(target) >= 4 and target[2] == "topic" else None
        found: dict[int, CompiledPolicy] = {}
        for name in equivalents(action):
            for role in (*roles, ANY):
                for cluster in clusters:
                    for order, policy, covers in self.scan.get((name, role, cluster), ()):
                        if order not in found and covers(target):
                            found[order] = policy
                    if topic is not None:
                        for order, policy in self.exact.get((name, role, cluster, topic), ()):
                            found[order] = policy
        return _verdict([found[order] for order in sorted(found)], action)


def _within_cluster_fn(resource: tuple[str, ...]) -> Callable[[tuple], bool]:
    """Whether a target in the policy's cluster is covered (the index matched the cluster)."""
    if len(resource) == 2:
        return lambda target: True
    kind, name_matches = resource[2], _name_matcher(resource[3])
    return lambda target: len(target) >= 4 and target[2] == kind and name_matches(target[3])


def _verdict(matched: list[CompiledPolicy], action: str) -> Decision:
    first = {}
    for policy in matched:
        first.setdefault(policy.effect, policy)
    decider = first.get("Deny") or first.get("Stage") or first.get("Allow")
    return Decision(
        success=decider is not None and decider.effect == "Allow",
        action=action,
        policies=[p.record for p in matched],
        decided_by=decider.record if decider else None,
        policy_ids=tuple(p.id for p in matched),
    )


def policy_record(resource: Sequence[str], roles: Sequence[str], effect: str, actions) -> dict:
    """A policy as audit records and the simulator show it (the seed's shape)."""
    data: dict = {"resource": list(resource)}
    if len(roles) == 1:
        data["role"] = roles[0]
    else:
        data["roles"] = list(roles)
    data["effect"] = effect
    data["actions"] = list(actions)
    return data


def compile_policies(policies: Iterable) -> PolicySet:
    """Compile Policy rows (or anything with the same attributes); disabled ones are skipped."""
    return PolicySet(
        CompiledPolicy(
            resource=tuple(p.resource),
            effect=p.effect,
            actions=frozenset(p.actions),
            roles=frozenset(p.roles),
            record=policy_record(p.resource, p.roles, p.effect, p.actions),
            id=getattr(p, "pk", None),
        )
        for p in policies
        if p.enabled
    )


def read_stamp() -> tuple[int, int]:
    """The policy table's version stamp, bumped by the trigger on every write."""
    from rbac.models import PolicyVersion

    row = PolicyVersion.objects.filter(pk=1).values_list("version", "token").first()
    return row or (0, 0)


def load_policy_set() -> PolicySet:
    from rbac.models import Policy

    rows = (
        Policy.objects.filter(enabled=True)
        .order_by("position", "id")
        .values_list("pk", "resource", "effect", "actions", "roles", "enabled", named=True)
    )
    return compile_policies(rows)


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.policy_set: PolicySet | None = None
        self.stamp: tuple | None = None
        self.checked_at = -math.inf

    def current(self) -> PolicySet:
        policy_set = self.policy_set
        if policy_set is not None and time.monotonic() - self.checked_at < RECHECK_SECONDS:
            return policy_set
        return self._refresh()

    def _refresh(self) -> PolicySet:
        from django.db import DatabaseError

        with self.lock:
            now = time.monotonic()
            if self.policy_set is not None and now - self.checked_at < RECHECK_SECONDS:
                return self.policy_set
            try:
                # The stamp is read before the policies: a change landing in between
                # leaves an older stamp, so the next check compiles again.
                stamp = read_stamp()
                if self.policy_set is None or stamp != self.stamp:
                    self.policy_set = load_policy_set()
                    self.stamp = stamp
            except DatabaseError:
                if self.policy_set is None:
                    raise
                log.warning("rbac: policy version check failed; keeping the compiled policies")
            self.checked_at = now
            return self.policy_set

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
