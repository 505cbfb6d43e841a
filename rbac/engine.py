"""The decision engine.

``decide(roles, action, resource)`` starts at deny and gathers the enabled policies
whose role the user holds (``*`` is anyone), whose actions include the action (a policy
naming ``TOPIC_DATA_QUERY`` decides ``TOPIC_INSPECT`` and back) and whose resource
covers the target. Any matching Deny denies; else any matching Stage stages (the action
becomes a request an admin approves: ``approvals``); else any matching Allow allows;
else it is denied. The decision lists every matching policy, in policy order.

Active temporary policies (``TemporaryPolicy``) are compiled after the policy table, each
record naming its id and expiry. The compiled set knows the earliest expiry among them: from
that moment the next decision compiles again, so a grant stops when it expires although
nothing was written.

Policies are compiled once per process into a ``PolicySet`` (``rbac.index``: broad
policies by action and role, named ones by exact name, prefix and suffix), with an LRU
of recent decisions. A database trigger bumps the ``PolicyVersion`` row in the same
transaction as every write to the policy table; each process compares that stamp with
the one it compiled at, at most every ``RECHECK_SECONDS``, so a change made anywhere
reaches every web and worker process within that time plus one query. A write made in
this process (``rbac.staleness``) is seen by the next decision. The access settings
(``authorized_roles``, ``admin_roles``, ``auditor_roles``) are kept and reloaded with the
policies (their writes bump the same stamp), so the door asks the database nothing per
decision (``current_access``).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from django.db import DatabaseError, connection
from django.db.models import TextField
from django.db.models.functions import Cast

from lib import metrics
from lib.runtime import without_gc
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
from rbac.models import AccessSettings, Policy, PolicyVersion, TemporaryPolicy

__all__ = [
    "ANY",
    "MEMO_SIZE",
    "CompiledPolicy",
    "Decision",
    "PolicyRows",
    "PolicySet",
    "compile_policies",
    "current_access",
    "current_policy_set",
    "decide",
    "holds",
    "invalidate",
    "load_policy_set",
    "load_policy_rows",
    "permanent_policy_set",
    "policy_record",
    "read_stamp",
    "resource_covers",
]

log = logging.getLogger("flex.rbac")

RECHECK_SECONDS = 1.0


class PolicyRows(list):
    """Enabled policies as ``load_policy_rows`` loads them, in order: lists
    ``[pk, effect, resource, actions, roles]`` that ``compile_policies`` files as they are.
    ``source``, when set, parses one row again from the text it was loaded from, so that the
    compiled set need not keep these lists (see ``PolicySet.from_rows``)."""

    source: Callable[[int], list] | None = None


def compile_policies(policies: Iterable) -> PolicySet:
    """Compile Policy rows (or anything with the same attributes); disabled ones are skipped.

    ``PolicyRows`` (from ``load_policy_rows``) are filed as they are; anything else is
    copied first, so that changing a Policy object later cannot change the compiled set.
    """
    with without_gc():
        if isinstance(policies, PolicyRows):
            return PolicySet.from_rows(policies, policies.source)
        return PolicySet.from_rows(
            [
                (
                    getattr(p, "pk", None),
                    p.effect,
                    tuple(p.resource),
                    tuple(p.actions),
                    tuple(p.roles),
                )
                for p in policies
                if p.enabled
            ]
        )


def read_stamp() -> tuple[int, int]:
    """The policy table's version stamp, bumped by the trigger on every write."""
    row = PolicyVersion.objects.filter(pk=1).values_list("version", "token").first()
    return row or (0, 0)


def load_policy_rows() -> PolicyRows:
    """The enabled policies in order, read and parsed in as few steps as the database allows.

    On PostgreSQL the server writes the whole table as one JSON array of arrays (one value
    fetched, one ``json.loads``): per-row values cost a Python string per column and a
    join, ~10 ms more at 10,000 policies. Elsewhere (SQLite) the JSON columns are read as
    text and parsed one call per column; letting the JSON field decode each value costs
    three ``json.loads`` calls and a converter per row.
    """
    with without_gc():
        return _load_aggregated() if connection.vendor == "postgresql" else _load_portable()


def _load_portable() -> PolicyRows:
    columns = [Cast(name, TextField()) for name in ("resource", "actions", "roles")]
    return _parse_rows(
        Policy.objects.filter(enabled=True)
        .order_by("position", "id")
        .values_list("pk", "effect", *columns)
    )


# Between two rows of the aggregate. Neither jsonb's output nor to_json writes a raw
# newline (they escape it), so it cannot occur inside a row.
_SEPARATOR = "],\n["


def _load_aggregated() -> PolicyRows:
    quote = connection.ops.quote_name
    # The ORDER BY inside the aggregate is what fixes the order; to_json quotes the effect;
    # rules_text is the JSON columns as text, written when the row was.
    sql = (
        "SELECT string_agg(concat_ws(',', id, to_json(effect), rules_text),"
        f" %s ORDER BY position, id) FROM {quote(Policy._meta.db_table)} WHERE enabled"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_SEPARATOR])
        text = cursor.fetchone()[0]
    if not text:
        return PolicyRows()
    rows = PolicyRows(json.loads("[[" + text + "]]"))
    rows.source = _row_parser(text)
    return rows


def _row_parser(text: str) -> Callable[[int], list]:
    """Parse row ``order`` of an aggregate, splitting it on first use: the compiled set keeps
    one string rather than 40,000 lists the collector would traverse."""
    pieces: list[str] = []

    def row(order: int) -> list:
        if not pieces:
            pieces.extend(text.split(_SEPARATOR))
        return json.loads("[" + pieces[order] + "]")

    return row


def _parse_rows(query: Iterable[tuple]) -> PolicyRows:
    rows = list(query)
    resources, actions, roles = (
        json.loads("[" + ",".join(row[column] for row in rows) + "]") for column in (2, 3, 4)
    )
    return PolicyRows(
        [row[0], row[1], resources[n], actions[n], roles[n]] for n, row in enumerate(rows)
    )


def load_policy_set() -> PolicySet:
    # One pause for both: the rows are freed before the collector runs again, so it never
    # traverses them (two pauses cost a pass over the rows between load and compile).
    with without_gc():
        rows = load_policy_rows()
        temporary = list(_active_temporary())
        if not temporary:
            return compile_policies(rows)
        return _with_temporary(rows, temporary)


def permanent_policy_set() -> PolicySet:
    """The policy table alone, compiled afresh (what a temporary grant may not exceed)."""
    return compile_policies(load_policy_rows())


def _active_temporary() -> Iterable[TemporaryPolicy]:
    now = datetime.now(UTC)
    return TemporaryPolicy.objects.filter(revoked_at=None, expires_at__gt=now).order_by("id")


def _with_temporary(rows: PolicyRows, temporary: list[TemporaryPolicy]) -> PolicySet:
    """The table's rows, then the temporary policies (their id None: they are no Policy)."""
    first = len(rows)
    combined = [
        *rows,
        *((None, t.effect, tuple(t.resource), tuple(t.actions), (t.holder,)) for t in temporary),
    ]
    source = rows.source
    read = combined.__getitem__
    if source is not None:

        def read(order: int) -> Sequence:
            return source(order) if order < first else combined[order]

    records = [None] * first + [t.as_record() for t in temporary]
    policy_set = PolicySet.from_rows(combined, read, records)
    policy_set.expires_at = min(t.expires_at for t in temporary).timestamp()
    return policy_set


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.policy_set: PolicySet | None = None
        self.access: AccessSettings | None = None  # loaded with the policies, changed with them
        self.stamp: tuple | None = None
        self.writes = -1  # this process's policy writes when compiled (rbac.staleness)
        self.checked_at = -math.inf

    def current(self) -> PolicySet:
        policy_set = self.policy_set
        if (
            policy_set is not None
            and self.writes == staleness.writes()
            and time.monotonic() - self.checked_at < RECHECK_SECONDS
            and (policy_set.expires_at is None or time.time() < policy_set.expires_at)
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
                if (
                    self.policy_set is None
                    or stamp != self.stamp
                    or writes != self.writes
                    or _expired(self.policy_set)
                ):
                    self.policy_set = load_policy_set()
                    self.access = AccessSettings.load()
                    metrics.rbac_reloaded()
                    self.stamp, self.writes = stamp, writes
            except DatabaseError:
                # An expired grant is never kept: better no decision than a stale Allow.
                if self.policy_set is None or _expired(self.policy_set):
                    raise
                log.warning("rbac: policy version check failed; keeping the compiled policies")
            self.checked_at = now
            return self.policy_set

    def _fresh(self, now: float, writes: int) -> bool:
        return (
            self.policy_set is not None
            and writes == self.writes
            and now - self.checked_at < RECHECK_SECONDS
            and not _expired(self.policy_set)
        )

    def clear(self) -> None:
        with self.lock:
            self.policy_set = None
            self.access = None
            self.stamp = None
            self.checked_at = -math.inf


def _expired(policy_set: PolicySet) -> bool:
    """Whether a temporary policy the set holds has expired since it was compiled."""
    return policy_set.expires_at is not None and time.time() >= policy_set.expires_at


_cache = _Cache()


def decide(roles: Iterable[str], action: str, resource: Sequence[str]) -> Decision:
    """Decide whether a holder of ``roles`` may take ``action`` on ``resource``."""
    return _cache.current().decide(roles, action, resource)


def current_policy_set() -> PolicySet:
    """This process's compiled policies (recompiled first if the table changed)."""
    return _cache.current()


def current_access() -> AccessSettings:
    """The access settings, kept beside the compiled policies and reloaded with them (a
    write to either bumps the same version stamp): no query per decision."""
    _cache.current()
    return _cache.access or AccessSettings.load()


def invalidate() -> None:
    """Forget this process's compiled policies (the next decision recompiles)."""
    _cache.clear()
