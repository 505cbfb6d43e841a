"""The decision engine.

``decide(roles, action, resource)`` starts at deny, gathers the enabled policies
whose role the user holds (``*`` is anyone), whose actions include the action and
whose resource covers the target; any Deny denies, else any Allow allows, else it
is denied. Policies are compiled once per process and recompiled when the policy
table changes (checked at most every ``RECHECK_SECONDS``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rbac.actions import equivalents

RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Decision:
    success: bool
    action: str
    policies: list[dict] = field(default_factory=list)
    decided_by: dict | None = None

    def as_record(self) -> dict:
        return {
            "success?": self.success,
            "action": self.action,
            "policies": self.policies,
        }


def _name_matches(pattern: str, name: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return name.endswith(pattern[1:])
    return pattern == name


def resource_covers(policy_resource: Sequence[str], target: Sequence[str]) -> bool:
    """Whether a policy's resource covers the target resource."""
    if len(policy_resource) < 2 or len(target) < 2:
        return False
    if policy_resource[1] != "*" and policy_resource[1] != target[1]:
        return False
    if len(policy_resource) == 2:
        return True
    if len(target) < 4 or target[2] != policy_resource[2]:
        return False
    return _name_matches(policy_resource[3], target[3])


@dataclass(frozen=True)
class CompiledPolicy:
    resource: tuple[str, ...]
    effect: str
    actions: frozenset[str]
    roles: frozenset[str]
    record: dict


class PolicySet:
    """Policies indexed by action, ready to decide."""

    def __init__(self, policies: Iterable[CompiledPolicy]) -> None:
        self.by_action: dict[str, list[CompiledPolicy]] = {}
        for policy in policies:
            for action in policy.actions:
                self.by_action.setdefault(action, []).append(policy)

    def decide(self, roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
        held = set(roles)
        target = tuple(resource)
        seen: set[int] = set()
        matched: list[CompiledPolicy] = []
        for name in sorted(equivalents(action)):
            for policy in self.by_action.get(name, ()):
                if id(policy) in seen:
                    continue
                if ("*" in policy.roles or policy.roles & held) and resource_covers(
                    policy.resource, target
                ):
                    seen.add(id(policy))
                    matched.append(policy)
        deny = next((p for p in matched if p.effect == "Deny"), None)
        allow = next((p for p in matched if p.effect == "Allow"), None)
        decider = deny or allow
        return Decision(
            success=deny is None and allow is not None,
            action=action,
            policies=[p.record for p in matched],
            decided_by=decider.record if decider else None,
        )


def compile_policies(policies: Iterable) -> PolicySet:
    """Compile Policy rows (or anything with the same attributes); disabled ones are skipped."""
    return PolicySet(
        CompiledPolicy(
            resource=tuple(p.resource),
            effect=p.effect,
            actions=frozenset(p.actions),
            roles=frozenset(p.roles),
            record=p.as_record(),
        )
        for p in policies
        if p.enabled
    )


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.policy_set: PolicySet | None = None
        self.stamp: tuple | None = None
        self.checked_at = 0.0

    def current(self) -> PolicySet:
        now = time.monotonic()
        if self.policy_set is not None and now - self.checked_at < RECHECK_SECONDS:
            return self.policy_set
        with self.lock:
            if self.policy_set is None or now - self.checked_at >= RECHECK_SECONDS:
                stamp = _table_stamp()
                if stamp != self.stamp or self.policy_set is None:
                    from rbac.models import Policy

                    self.policy_set = compile_policies(Policy.objects.all())
                    self.stamp = stamp
                self.checked_at = now
        return self.policy_set

    def clear(self) -> None:
        with self.lock:
            self.policy_set = None
            self.stamp = None


def _table_stamp() -> tuple:
    from django.db.models import Count, Max

    from rbac.models import Policy

    agg = Policy.objects.aggregate(n=Count("id"), latest=Max("updated_at"), top=Max("id"))
    return (agg["n"], agg["latest"], agg["top"])


_cache = _Cache()


def decide(roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
    """Decide whether a holder of ``roles`` may take ``action`` on ``resource``."""
    return _cache.current().decide(roles, action, resource)


def invalidate() -> None:
    """Forget the compiled policies of this process (the next decision recompiles)."""
    _cache.clear()
