"""What a decision is and how one policy matches (pure Python, no Django): the ``Decision``
record, the effects, role holding and resource covering. ``rbac.index`` builds the index of
many policies on these; ``rbac.engine`` and the door hand them out.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

ANY = "*"
ALLOW, DENY, STAGE = "Allow", "Deny", "Stage"
STAGED = "a Stage policy applies: the action needs an admin's approval"


@dataclass(frozen=True)
class Decision:
    """The outcome of one decision. Shared between callers through the LRU: do not mutate.
    ``effect`` is the deciding policy's (``Allow``, ``Deny``, ``Stage``), None when no policy
    matched. ``code`` and ``reason`` say why a refusal was made before the policies were
    asked (``protected_topic``)."""

    success: bool
    action: str
    policies: list[dict] = field(default_factory=list)
    decided_by: dict | None = None
    policy_ids: tuple[int | None, ...] = ()
    effect: str | None = None
    code: str = "denied"
    reason: str | None = None

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


def holds(roles: Iterable[str], wanted: Iterable[str]) -> bool:
    """Whether a holder of ``roles`` is among ``wanted`` (``*`` in it is anyone)."""
    wanted = set(wanted)
    return ANY in wanted or not wanted.isdisjoint(roles)


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
