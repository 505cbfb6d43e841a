"""Compiled policies and the index that finds those covering a target (pure Python, no Django).

Rows ``(pk, effect, resource, actions, roles)`` are compiled in one pass that files each
well-formed policy, so that policies are found, never scanned: broad ones (cluster-wide,
or every ``*`` name of a kind) as ``broad[action class][role][cluster][kind]``, named ones
(exact, ``prefix*``, ``*suffix``) as ``names[kind].prefixes["team-17-"]``, looked up once
per distinct prefix (suffix) length: ten thousand ``team-N-M-*`` globs cost three lookups.
Decisions list matching policies in policy order; a malformed target is denied, never
raised. Audit records and ``CompiledPolicy`` objects are built on first use: ten thousand
of each per change cost more than the index itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

from rbac.actions import ALIASES, equivalents
from rbac.matching import (
    ALLOW,
    ANY,
    DENY,
    STAGE,
    STAGED,
    Decision,
    holds,
    policy_record,
    resource_covers,
)

__all__ = [
    "ALLOW",
    "ANY",
    "DENY",
    "MEMO_SIZE",
    "STAGE",
    "STAGED",
    "CompiledPolicy",
    "Decision",
    "PolicySet",
    "holds",
    "policy_record",
    "resource_covers",
]

MEMO_SIZE = 16384


class CompiledPolicy(NamedTuple):
    """One enabled policy, as ``PolicySet.policies`` lists it (built on first use)."""

    resource: tuple[str, ...]
    effect: str
    actions: frozenset[str]
    roles: frozenset[str]
    record: dict
    id: int | None = None

    def covers(self, target: tuple) -> bool:
        return resource_covers(self.resource, target)


class _Names:
    """The named policies (exact, ``prefix*``, ``*suffix``) on one resource kind: each
    table maps a name, prefix or suffix to the position of the one policy naming it, or
    to {role: positions} when several do. An int is no object to build per policy, nor
    for the collector to traverse after every compile (``team-17-3-*`` is rarely shared)."""

    __slots__ = ("exact", "prefixes", "suffixes", "globs")

    def __init__(self) -> None:
        self.exact: dict[str, int | dict[str, list[int]]] = {}
        self.prefixes: dict[str, int | dict[str, list[int]]] = {}
        self.suffixes: dict[str, int | dict[str, list[int]]] = {}
        self.globs: tuple = ()  # (table, the distinct key lengths filed, whether suffixes)

    def freeze(self) -> None:
        self.globs = tuple(
            (table, tuple(sorted({len(key) for key in table})), is_suffix)
            for table, is_suffix in ((self.prefixes, False), (self.suffixes, True))
            if table
        )

    def candidates(self, name: str) -> list[int | dict[str, list[int]]]:
        """What is filed under every pattern matching ``name``."""
        hit, size = self.exact.get(name), len(name)
        found = [] if hit is None else [hit]
        for table, lengths, is_suffix in self.globs:
            for length in lengths:  # shortest first
                if length > size:
                    break
                hit = table.get(name[-length:] if is_suffix else name[:length])
                if hit is not None:
                    found.append(hit)
        return found


# Each action name -> one name standing for its class of equivalents: a broad policy is filed
# once per class, found by one lookup. Sound only if the aliases partition the actions.
_CLASS = {name: min(names) for name, names in ALIASES.items()}
if any(equivalents(other) != names for names in ALIASES.values() for other in names):
    raise ImportError("rbac.actions.ALIASES must group actions into disjoint classes")
_FIELDS = tuple(Decision.__dataclass_fields__)  # in declaration order


def _new_decision(success, action, policies, decided_by, policy_ids, effect) -> Decision:
    # A frozen dataclass's __init__ sets each field through object.__setattr__: a third of
    # an uncached decision. Setting __dict__ at once makes the same object far cheaper.
    decision = object.__new__(Decision)
    code, reason = ("staged", STAGED) if effect == STAGE else ("denied", None)
    values = (success, action, policies, decided_by, policy_ids, effect, code, reason)
    object.__setattr__(decision, "__dict__", dict(zip(_FIELDS, values, strict=True)))
    return decision


def _denied(action: str) -> Decision:
    return _new_decision(False, action, [], None, (), None)


def _file(by_role: dict[str, list[int]], roles: Iterable[str], order: int) -> None:
    for role in roles:
        orders = by_role.get(role)
        if orders is None:
            by_role[role] = [order]
        elif orders[-1] != order:  # a role named twice: filed once
            orders.append(order)


class PolicySet:
    """Enabled policies in order, their index, and an LRU of recent decisions."""

    # When the earliest temporary policy in the set expires (time.time()), None if none:
    # the engine compiles again from then on.
    expires_at: float | None = None

    def __init__(self, policies: Iterable[CompiledPolicy]) -> None:
        policies = tuple(policies)
        rows = [(p.id, p.effect, p.resource, p.actions, p.roles) for p in policies]
        self._build(rows, rows.__getitem__, [p.record for p in policies])
        self._policies: tuple[CompiledPolicy, ...] | None = policies

    @classmethod
    def from_rows(
        cls,
        rows: Sequence,
        source: Callable[[int], Sequence] | None = None,
        records: list[dict | None] | None = None,
    ):
        """Compile rows ``(pk, effect, resource, actions, roles)`` of enabled policies in order;
        ``source(order)`` reads one again for records (default: keep ``rows``, unchanged);
        ``records`` gives some rows their record already (None: built on first use)."""
        policy_set = cls.__new__(cls)
        policy_set._build(rows, source or rows.__getitem__, records or [None] * len(rows))
        policy_set._policies = None
        return policy_set

    def _build(self, rows: Sequence, source: Callable, records: list[dict | None]) -> None:
        # Per policy: id, effect, cluster, actions, roles. The rest is read again on first use.
        self._source, self._records = source, records  # a record is None until needed
        columns = tuple(zip(*rows, strict=True)) or ((),) * 5
        self._ids, self._effects, resources, actions, roles = columns
        # One list per distinct list of actions (roles): a few hundred, not 20,000, survive
        # for the collector to traverse and promote (which brings on full collections).
        same: dict[tuple, list] = {}
        self._actions = [same.setdefault(tuple(names), names) for names in actions]
        actions_seen = set(chain.from_iterable(same))
        self._roles = [same.setdefault(tuple(names), names) for names in roles]
        # Each resource's second part (None if none): allows_somewhere reads every policy's.
        clusters = self._clusters = [None] * len(resources)
        # class -> role -> cluster -> kind (None: cluster-wide) -> positions
        broad: dict[str, dict[str, dict[str, dict[str | None, list[int]]]]] = {}
        named: dict[str, _Names] = {}
        classes, roles_of = _CLASS, self._roles
        for order, resource in enumerate(resources):
            # resource_covers reads four parts at most; a policy whose parts it reads are
            # not all strings, or that has three, matches nothing and is not filed.
            size = len(resource)
            if size > 1:
                cluster = clusters[order] = resource[1]
            if size < 4:
                if size != 2 or type(resource[1]) is not str:  # noqa: E721 - no subclasses
                    continue
                kind = name = None
            else:
                kind, name = resource[2], resource[3]
                if not (type(resource[1]) is type(kind) is type(name) is str):
                    continue
            if name is None or name == ANY:
                for key in {classes.get(action, action) for action in self._actions[order]}:
                    by_role = broad.setdefault(key, {})
                    for role in self._roles[order]:
                        by_kind = by_role.setdefault(role, {}).setdefault(cluster, {})
                        orders = by_kind.setdefault(kind, [])
                        if not orders or orders[-1] != order:  # a role named twice: once
                            orders.append(order)
                continue
            names = named.get(kind)
            if names is None:
                names = named[kind] = _Names()
            # Read as _name_matcher reads it: a trailing ``*`` first, then a leading one.
            if name[-1:] == ANY:
                table, key = names.prefixes, name[:-1]
            elif name[:1] == ANY:
                table, key = names.suffixes, name[1:]
            else:
                table, key = names.exact, name
            by_role = table.get(key)
            if by_role is None:
                table[key] = order
                continue
            if type(by_role) is int:  # a second policy: both filed by role from now on
                by_role, first = {}, by_role
                table[key] = by_role
                _file(by_role, roles_of[first], first)
            _file(by_role, roles_of[order], order)
        for names in named.values():
            names.freeze()
        self._names = named
        # action -> (the names a policy may carry for it, its broad table, its denial); any
        # other action is denied by the first lookup. The denial is shared, as the LRU
        # shares every decision: a decision is not mutated.
        self._by_action = {
            action: (names, broad.get(classes.get(action, action)), _denied(action))
            for action in (*actions_seen, *ALIASES)
            if not actions_seen.isdisjoint(names := equivalents(action))
        }
        self._memo = lru_cache(maxsize=MEMO_SIZE)(self.evaluate_exact)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def policies(self) -> tuple[CompiledPolicy, ...]:
        """The enabled policies in order (built on first use: display and audit pages)."""
        if self._policies is None:
            rows = [self._source(order) for order in range(len(self))]
            self._policies = tuple(
                CompiledPolicy(tuple(r[2]), r[1], frozenset(r[3]), frozenset(r[4]), record, r[0])
                for r, record in zip(rows, map(self._record, range(len(rows)), rows), strict=True)
            )
        return self._policies

    def _record(self, order: int, row: Sequence | None = None) -> dict:
        """The policy's audit record, built once (racing threads build equal ones)."""
        record = self._records[order]
        if record is None:
            _, effect, resource, actions, roles = row or self._source(order)
            record = self._records[order] = policy_record(resource, roles, effect, actions)
        return record

    def decide(self, roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
        """``evaluate`` through the LRU of recent decisions."""
        return _normalised(self._memo, roles, action, resource)

    def evaluate(self, roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
        """Decide by the index alone (no LRU: benchmarks and tests of the index)."""
        return _normalised(self.evaluate_exact, roles, action, resource)

    def evaluate_exact(self, roles: frozenset[str], action: str, target: tuple) -> Decision:
        """``evaluate`` for arguments already normalised (the LRU's key); may raise TypeError."""
        entry = self._by_action.get(action)
        if entry is None:
            return _denied(action)
        wanted, broad, denial = entry
        size = len(target)
        if size < 2:
            return denial
        for part in target:
            if type(part) is not str:  # noqa: E721 - a str subclass could match differently
                return denial
        cluster = target[1]
        clusters = (cluster,) if cluster == ANY else (cluster, ANY)
        found: list[int] = []
        holders = (*roles, ANY)
        if broad is not None:
            kind = target[2] if size >= 4 else None
            for role in holders:
                by_cluster = broad.get(role)
                if by_cluster is not None:
                    for policy_cluster in clusters:
                        by_kind = by_cluster.get(policy_cluster)
                        if by_kind is not None:
                            found += by_kind.get(None, ())
                            if kind is not None:
                                found += by_kind.get(kind, ())
        names = self._names.get(target[2]) if size >= 4 else None
        if names is not None:
            clusters_of, actions_of, roles_of = self._clusters, self._actions, self._roles
            for hit in names.candidates(target[3]):
                if type(hit) is int:  # the one policy naming it: check its roles too
                    held = roles_of[hit]
                    if (
                        clusters_of[hit] in clusters
                        and not wanted.isdisjoint(actions_of[hit])
                        and (ANY in held or not roles.isdisjoint(held))
                    ):
                        found.append(hit)
                    continue
                for role in holders:
                    for order in hit.get(role, ()):
                        if clusters_of[order] in clusters and not wanted.isdisjoint(
                            actions_of[order]
                        ):
                            found.append(order)
        if not found:
            return denial
        if len(found) > 1:
            found = sorted(set(found))
        return self._decision(found, action)

    def _decision(self, orders: list[int], action: str) -> Decision:
        """Deny over Stage over Allow, the first of each in policy order deciding."""
        effects = [self._effects[order] for order in orders]
        decider = next((effects.index(e) for e in (DENY, STAGE, ALLOW) if e in effects), None)
        records, ids = self._records, self._ids
        policies = [records[order] or self._record(order) for order in orders]
        effect = effects[decider] if decider is not None else None
        return _new_decision(
            effect == ALLOW,
            action,
            policies,
            policies[decider] if decider is not None else None,
            tuple([ids[order] for order in orders]),
            effect,
        )

    def allows_somewhere(self, roles: Iterable[str], action: str, cluster_id: str) -> bool:
        """Whether an Allow (or Stage: a request for approval) policy the roles hold names
        ``action`` on some resource of the cluster (display only: whether to offer Create
        before a name is typed)."""
        names, roles, clusters = equivalents(action), set(roles), (ANY, cluster_id)
        rows = zip(self._effects, self._actions, self._roles, self._clusters, strict=True)
        return any(
            effect in (ALLOW, STAGE)
            and cluster in clusters
            and not names.isdisjoint(actions)
            and holds(roles, held)
            for effect, actions, held, cluster in rows
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
