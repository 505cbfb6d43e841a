"""Audit records for RBAC changes and policy simulations.

rbac sends ``policy_changed`` and ``policy_simulated`` (it does not import audit); these
receivers turn each into exactly one audit record, inside the sender's transaction.
Connected by ``AuditConfig.ready()``.
"""

from __future__ import annotations

from django.dispatch import receiver

from audit.gate import Ctx, ctx_from_request, record_event
from rbac.roles import Actor, actor_for_user
from rbac.signals import SIMULATE, policy_changed, policy_simulated

# Who acts when a change comes from the command line (manage.py rbac_import).
CLI_USER = {"provider": "local", "email": "", "name": "", "login": "cli", "id": None}


def _who(user, request, via: str) -> tuple[Actor | None, dict | None, Ctx]:
    ctx = ctx_from_request(request, via=via) if request is not None else Ctx(via=via)
    if user is not None and user.is_authenticated:
        return actor_for_user(user), None, ctx
    return None, CLI_USER if request is None else {}, ctx


@receiver(policy_changed, dispatch_uid="audit.policy_changed")
def record_policy_change(
    sender, *, user, request, event, before, after, via, status, error, extra, **kwargs
) -> None:
    actor, user_block, ctx = _who(user, request, via)
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
    actor, user_block, ctx = _who(user, request, via)
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
