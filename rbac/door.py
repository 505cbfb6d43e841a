"""The one door: every permission question Flex asks is answered here.

``authorize(actor, action, resource)`` is what the gate asks before any action: first
whether the actor may use Flex at all (``authorized_roles``), then whether the resource is
one Flex keeps for itself (its audit topic), then the policies (``rbac.engine``). Pages
ask the same door, through ``may`` and the role checks below, only to show or disable
controls and to open the Settings pages; the gate is what enforces.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from rbac import actions, engine
from rbac.engine import Decision
from rbac.index import STAGE
from rbac.models import AccessSettings
from rbac.roles import Actor, actor_for_user, memo

NOT_AUTHORIZED = "you are not authorized to use Flex"

# Nobody does these to Flex's own audit topic through Flex, whatever the policies say.
PROTECTED_WRITES = frozenset(
    {actions.TOPIC_PRODUCE, actions.TOPIC_EDIT, actions.TOPIC_DELETE, actions.TOPIC_TRUNCATE}
)
# Reading it needs an auditor (or admin) role as well as a policy.
PROTECTED_READS = frozenset(
    {actions.TOPIC_INSPECT, actions.TOPIC_DATA_QUERY, actions.TOPIC_DATA_DOWNLOAD}
)


def authorize(actor: Actor, action: str | None = None, resource: Sequence[str] = ()) -> Decision:
    """May ``actor`` take ``action`` on ``resource``? With no action: may they use Flex?"""
    if not _admitted(actor):
        return _refused(action, "denied", NOT_AUTHORIZED)
    if not action:  # no action named: admission only (API tokens are self-service)
        return Decision(success=True, action="", effect="Allow")
    if _is_audit_topic(resource):
        if action in PROTECTED_WRITES:
            return _refused(
                action, "protected_topic", f"{resource[3]} is Flex's audit topic: Flex keeps it"
            )
        if action in PROTECTED_READS and not _reads_audit(actor):
            return _refused(
                action,
                "protected_topic",
                f"{resource[3]} is Flex's audit topic: reading it needs an auditor role",
            )
    return engine.decide(actor.roles, action, resource)


def _refused(action: str | None, code: str, reason: str) -> Decision:
    return Decision(success=False, action=action or "", effect="Deny", code=code, reason=reason)


def _is_audit_topic(resource: Sequence[str]) -> bool:
    return (
        len(resource) >= 4 and resource[2] == "topic" and resource[3] == settings.FLEX_AUDIT_TOPIC
    )


def _access(user_pk: int | None) -> AccessSettings:
    return memo(user_pk, "access", engine.current_access)


def _admitted(actor: Actor) -> bool:
    return actor.superuser or engine.holds(actor.roles, _access(actor.user_pk).authorized_roles)


def _admin(actor: Actor) -> bool:
    return actor.superuser or engine.holds(actor.roles, _access(actor.user_pk).admin_roles)


def _auditor(actor: Actor) -> bool:
    return engine.holds(actor.roles, _access(actor.user_pk).auditor_roles)


def _reads_audit(actor: Actor) -> bool:
    return _admin(actor) or _auditor(actor)


# The same door, asked about a signed-in user (pages, navigation, admin).


def _actor(user) -> Actor | None:
    if not user.is_authenticated:
        return None
    return memo(user.pk, "actor", lambda: actor_for_user(user))


def is_authorized(user) -> bool:
    """Whether the user may use Flex at all (holds one of ``authorized_roles``)."""
    actor = _actor(user)
    return actor is not None and authorize(actor).success


def is_admin(user) -> bool:
    actor = _actor(user)
    return actor is not None and _admin(actor)


def can_read_audit_log(user) -> bool:
    actor = _actor(user)
    return actor is not None and _reads_audit(actor)


def may(user, action: str, resource: Sequence[str]) -> bool:
    """Whether to offer a control (display only: the gate decides when it is used). A staged
    action is offered: using it sends a request for approval."""
    actor = _actor(user)
    if actor is None:
        return False
    decision = authorize(actor, action, resource)
    return decision.success or decision.effect == STAGE


def may_somewhere(user, action: str, cluster_id: str) -> bool:
    """Whether some resource of the cluster may allow ``action`` (display only, e.g. Create)."""
    actor = _actor(user)
    if actor is None or not authorize(actor).success:
        return False
    return engine.current_policy_set().allows_somewhere(actor.roles, action, cluster_id)
