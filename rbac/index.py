"""Compiled policies and the index that finds those covering a target (pure Python, no Django).

Two tables, so that a role's policies are found by resource, never scanned:

- broad policies (cluster-wide, or naming every ``*`` name of a kind) are filed by
  action, role, cluster and kind: ``broad[action][role][cluster][kind] -> positions``;
- named policies (an exact name, ``prefix*`` or ``*suffix``) are filed by kind, then the
  name, prefix or suffix, then role: ``names[kind].prefixes["team-17-"][role]``. A target's
  name is looked up once per distinct prefix (suffix) length filed, shortest first, so ten
  thousand ``team-N-M-*`` globs cost three dict lookups, not ten thousand matches.

A decision looks up each role held and ``*``, keeps the candidates whose cluster (and
kind, and action) fits, and reports them in policy order. A target that is not a
sequence of strings is malformed and denied, never raised.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from rbac.actions import ALIASES, equivalents

ANY = "*"
MEMO_SIZE = 16384
ALLOW, DENY, STAGE = "Allow", "Deny", "Stage"


@dataclass(frozen=True)
class Decision:
    """The outcome of one decision. Shared between callers through the LRU: do not mutate.

    ``effect`` is the deciding policy's (``Allow``, ``Deny``, ``Stage``), None when no
    policy matched. ``code`` and ``reason`` say why a refusal was made before the
    policies were asked (``not_authorized``, ``protected_topic``).
    """

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


class CompiledPolicy(NamedTuple):
    """One enabled policy, ready to match (a tuple: ten thousand are built per change)."""

    resource: tuple[str, ...]
    effect: str
    actions: frozenset[str]
    roles: frozenset[str]
    record: dict
    id: int | None = None

    def covers(self, target: tuple) -> bool:
        return resource_covers(self.resource, target)


class _Names:
    """The named policies (exact, ``prefix*``, ``*suffix``) on one resource kind.

    Each table maps a name, prefix or suffix to {role: positions}; a target's name is
    looked up once per distinct prefix (suffix) length, shortest first.
    """

    __slots__ = ("exact", "prefixes", "suffixes", "prefix_lengths", "suffix_lengths")

    def __init__(self) -> None:
        self.exact: dict[str, dict[str, list[int]]] = {}
        self.prefixes: dict[str, dict[str, list[int]]] = {}
        self.suffixes: dict[str, dict[str, list[int]]] = {}
        self.prefix_lengths: tuple[int, ...] = ()
        self.suffix_lengths: tuple[int, ...] = ()

    def table(self, pattern: str) -> tuple[dict, str]:
        """Where a pattern other than ``*`` is filed, read as _name_matcher reads it."""
        if pattern.endswith(ANY):
            return self.prefixes, pattern[:-1]
        if pattern.startswith(ANY):
            return self.suffixes, pattern[1:]
        return self.exact, pattern

    def freeze(self) -> None:
        self.prefix_lengths = tuple(sorted({len(prefix) for prefix in self.prefixes}))
        self.suffix_lengths = tuple(sorted({len(suffix) for suffix in self.suffixes}))

    def candidates(self, name: str) -> list[dict[str, list[int]]]:
        """The {role: positions} of every pattern matching ``name``."""
        found = []
        hit = self.exact.get(name)
        if hit:
            found.append(hit)
        size, prefixes, suffixes = len(name), self.prefixes, self.suffixes
        for length in self.prefix_lengths:
            if length > size:
                break
            hit = prefixes.get(name[:length])
            if hit:
                found.append(hit)
        for length in self.suffix_lengths:
            if length > size:
                break
            hit = suffixes.get(name[-length:])
            if hit:
                found.append(hit)
        return found


def _well_formed(parts: Sequence) -> bool:
    # A plain loop: twice as fast as all() over a generator, on every decision.
    for part in parts:  # noqa: SIM110
        if type(part) is not str:  # noqa: E721 - a str subclass could match differently
            return False
    return True


def _file(table: dict, key: str, roles: frozenset[str], order: int) -> None:
    by_role = table.get(key)
    if by_role is None:
        by_role = table[key] = {}
    for role in roles:
        orders = by_role.get(role)
        if orders is None:
            by_role[role] = [order]
        else:
            orders.append(order)


class _Index:
    """Where each policy is filed: broad ones by action and role, named ones by name."""

    def __init__(self, policies: tuple[CompiledPolicy, ...]) -> None:
        # action -> role -> cluster -> kind (None: cluster-wide) -> positions
        self.broad: dict[str, dict[str, dict[str, dict[str | None, list[int]]]]] = {}
        self.names: dict[str, _Names] = {}  # kind -> its named policies
        self.actions: set[str] = set()
        # What the named tables do not tell apart, checked per candidate.
        self.clusters: list[str | None] = []
        for order, policy in enumerate(policies):
            self._add(order, policy)
        for names in self.names.values():
            names.freeze()

    def _add(self, order: int, policy: CompiledPolicy) -> None:
        resource = policy.resource
        # resource_covers reads four parts at most; a well-formed target has string parts.
        if len(resource) < 2 or len(resource) == 3 or not _well_formed(resource[1:4]):
            self.clusters.append(None)  # matches nothing
            return
        self.clusters.append(resource[1])
        self.actions.update(policy.actions)
        if len(resource) == 2 or resource[3] == ANY:
            kind = resource[2] if len(resource) > 2 else None
            for action in policy.actions:
                by_role = self.broad.setdefault(action, {})
                for role in policy.roles:
                    by_kind = by_role.setdefault(role, {}).setdefault(resource[1], {})
                    by_kind.setdefault(kind, []).append(order)
            return
        names = self.names.get(resource[2])
        if names is None:
            names = self.names[resource[2]] = _Names()
        _file(*names.table(resource[3]), policy.roles, order)

    def by_action(self) -> dict[str, tuple[frozenset[str], tuple[dict, ...]]]:
        """For each action a policy names (or an alias): its equivalents and broad tables."""
        broad = self.broad
        return {
            action: (
                equivalents(action),
                tuple(broad[name] for name in equivalents(action) if name in broad),
            )
            for action in (*self.actions, *ALIASES)
            if not self.actions.isdisjoint(equivalents(action))
        }


def _new_decision(success, action, policies, decided_by, policy_ids, effect) -> Decision:
    # A frozen dataclass's __init__ sets each field through object.__setattr__: a third of
    # an uncached decision. Filling __dict__ makes the same object at a third of the cost.
    decision = object.__new__(Decision)
    decision.__dict__.update(
        success=success,
        action=action,
        policies=policies,
        decided_by=decided_by,
        policy_ids=policy_ids,
        effect=effect,
        code="denied",
        reason=None,
    )
    return decision


def _denied(action: str) -> Decision:
    return _new_decision(False, action, [], None, (), None)


class PolicySet:
    """Enabled policies in order, their index, and an LRU of recent decisions."""

    def __init__(self, policies: Iterable[CompiledPolicy]) -> None:
        self.policies: tuple[CompiledPolicy, ...] = tuple(policies)
        index = _Index(self.policies)
        self._by_action = index.by_action()
        self._names = index.names
        self._clusters = index.clusters
        self._actions = [policy.actions for policy in self.policies]
        self._effects = [policy.effect for policy in self.policies]
        self._records = [policy.record for policy in self.policies]
        self._memo = lru_cache(maxsize=MEMO_SIZE)(self.evaluate_exact)

    def __len__(self) -> int:
        return len(self.policies)

    def decide(self, roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
        """``evaluate`` through the LRU of recent decisions."""
        return _normalised(self._memo, roles, action, resource)

    def evaluate(self, roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
        """Decide by the index alone (no LRU: benchmarks and tests of the index)."""
        return _normalised(self.evaluate_exact, roles, action, resource)

    def evaluate_exact(self, roles: frozenset[str], action: str, target: tuple) -> Decision:
        """``evaluate`` for arguments already normalised (the LRU's key); may raise TypeError."""
        entry = self._by_action.get(action)
        if entry is None or len(target) < 2 or not _well_formed(target):
            return _denied(action)
        holders = (*roles, ANY)
        found = self._broad(entry[1], holders, target) if entry[1] else []
        if len(target) >= 4:
            names = self._names.get(target[2])
            if names is not None:
                found += self._named(names, entry[0], holders, target)
        return self._decision(sorted(set(found)), action) if found else _denied(action)

    @staticmethod
    def _broad(tables: tuple[dict, ...], holders: tuple, target: tuple) -> list[int]:
        """Cluster-wide and ``*``-named policies the holders have for the action."""
        cluster, kind = target[1], target[2] if len(target) >= 4 else None
        clusters = (cluster,) if cluster == ANY else (cluster, ANY)
        found: list[int] = []
        for by_role in tables:
            for role in holders:
                by_cluster = by_role.get(role)
                if by_cluster is None:
                    continue
                for policy_cluster in clusters:
                    by_kind = by_cluster.get(policy_cluster)
                    if by_kind is not None:
                        found += by_kind.get(None, ())
                        if kind is not None:
                            found += by_kind.get(kind, ())
        return found

    def _named(self, names: _Names, wanted: frozenset, holders: tuple, target: tuple) -> list:
        """Policies naming the target (exactly or by glob) the holders have for the action."""
        cluster, clusters, actions, found = target[1], self._clusters, self._actions, []
        for by_role in names.candidates(target[3]):
            for role in holders:
                for order in by_role.get(role, ()):
                    if clusters[order] in (ANY, cluster) and not wanted.isdisjoint(actions[order]):
                        found.append(order)
        return found

    def _decision(self, orders: list[int], action: str) -> Decision:
        """Deny over Stage over Allow, the first of each in policy order deciding."""
        effects, decider, stage, allow = self._effects, None, None, None
        for order in orders:
            effect = effects[order]
            if effect == DENY:
                decider = order
                break
            if effect == STAGE and stage is None:
                stage = order
            elif effect == ALLOW and allow is None:
                allow = order
        if decider is None:
            decider = stage if stage is not None else allow
        records, policies = self._records, self.policies
        effect = effects[decider] if decider is not None else None
        return _new_decision(
            effect == ALLOW,
            action,
            [records[order] for order in orders],
            records[decider] if decider is not None else None,
            tuple(policies[order].id for order in orders),
            effect,
        )

    def allows_somewhere(self, roles: Iterable[str], action: str, cluster_id: str) -> bool:
        """Whether an Allow policy the roles hold grants ``action`` on some resource of the
        cluster (display only: whether to offer Create before a name is typed)."""
        names, roles = equivalents(action), set(roles)
        return any(
            p.effect == ALLOW
            and not names.isdisjoint(p.actions)
            and holds(roles, p.roles)
            and p.resource[1] in (ANY, cluster_id)
            for p in self.policies
        )

    def policies_for(self, roles: Iterable[str]) -> list[CompiledPolicy]:
        """The enabled policies a holder of ``roles`` is subject to, in order."""
        roles = set(roles)
        return [p for p in self.policies if holds(roles, p.roles)]


def _normalised(decide: Callable, roles, action: str, resource) -> Decision:
    """Call ``decide`` with hashable arguments; a malformed query is denied, never raised."""
    if isinstance(roles, str):
        roles = (roles,)
    if isinstance(resource, str):  # a string is not a resource, whatever its letters
        return _denied(action)
    try:
        return decide(frozenset(roles), action, tuple(resource))
    except TypeError:  # unhashable parts (a list inside the resource): nothing can match
        return Decision(success=False, action=action)
