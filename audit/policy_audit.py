"""Audit records for RBAC changes and policy simulations.

rbac sends ``policy_changed`` and ``policy_simulated`` (it does not import audit); these
receivers turn each into exactly one audit record, inside the sender's transaction.
Connected by ``AuditConfig.ready()``.
"""

from __future__ import annotations

from django.dispatch import receiver

from audit.gate import record_event, who
from rbac.signals import SIMULATE, policy_changed, policy_simulated


@receiver(policy_changed, dispatch_uid="audit.policy_changed")
def record_policy_change(
    sender, *, user, request, event, before, after, via, status, error, extra, **kwargs
) -> None:
    actor, user_block, ctx = who(request, via=via, user=user)
    record_event(
        actor=actor,
        user=user_block,
        type="mutation/request",
        event=event,
        request={**extra, "before": before, "after": after},
        ctx=ctx,
        status=status,
        error=error,
        action="ADMIN",
    )


@receiver(policy_simulated, dispatch_uid="audit.policy_simulated")
def record_policy_simulation(sender, *, user, request, via, query, status, error, **kwargs) -> None:
    actor, user_block, ctx = who(request, via=via, user=user)
    record_event(
        actor=actor,
        user=user_block,
        type="query/request",
        event=SIMULATE,
        request=dict(query),
        ctx=ctx,
        status=status,
        error=error,
        resource=query["resource"] if status == "succeeded" else (),
    )
