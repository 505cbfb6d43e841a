"""Data policies applied to a read, below the pages and the API (and whatever reads next).

``masked_read`` runs inside the read operation: the raw bytes of every part a policy
covers are replaced before the result leaves the gate, and the operation's audit record
learns which policies applied and whether the reader saw anything clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from datapolicy.masking import Mark, Plan, plan_for
from lib.runtime import without_gc
from topics.kafka import Message, ReadResult


@dataclass(frozen=True)
class ShownMessage:
    """A message as it may leave Flex: covered parts masked, rendered as text or JSON only."""

    message: Message
    covered: frozenset[str]  # "key", "value", "header:<index>"
    marks: tuple[Mark, ...] = ()
    indented: dict[str, str] | None = None  # masked JSON keys and values, written indented


@dataclass(frozen=True)
class MaskedRead:
    messages: list[ShownMessage]
    partial: bool
    policies: list[dict]  # the data policies applied (name, category, masked, clear)
    unmasked: bool  # the reader saw something clear through an unmask role


def masked_read(
    result: ReadResult, *, cluster_id: str, topic: str, roles: Sequence[str]
) -> MaskedRead:
    plan = plan_for(cluster_id=cluster_id, topic=topic, roles=roles)
    if not plan.active:
        shown = [ShownMessage(m, frozenset()) for m in result.messages]
        return MaskedRead(shown, result.partial, [], False)
    with without_gc():  # a read's masking allocates a burst of objects that all live on
        shown = [shown_message(plan, message) for message in result.messages]
    return MaskedRead(shown, result.partial, plan.applied(), plan.saw_unmasked)


def shown_message(plan: Plan, message: Message) -> ShownMessage:
    """One message as ``plan`` lets it leave Flex (the browser masks as it scans)."""
    if not plan.active:
        return ShownMessage(message, frozenset())
    masked = plan.mask(message.key, message.value, message.headers)
    safe = replace(message, key=masked.key, value=masked.value, headers=masked.headers)
    return ShownMessage(safe, masked.covered, masked.marks, masked.indented)


def audit_summary(read: MaskedRead) -> dict:
    """What the ``query/inspect-topic-data`` record says of the data policies."""
    return {"data-policies": read.policies, "data-policies/unmasked?": read.unmasked}
