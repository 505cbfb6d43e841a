"""Temporary policies: an admin grants a role, or one user, a policy for a capped time.

``grant`` checks the request (one holder, a policy as ``check_policy`` reads it, a reason, a
duration within ``FLEX_TEMPORARY_POLICY_MAX_SECONDS``) and that it exceeds nothing the
granting admin is allowed by the policy table itself (``exceeds_granter``); ``revoke`` ends
one early; ``expire_due`` claims, once across every worker, those whose time is up, for
their expiry record. Audit writes the records (``rbac.signals``): rbac does not import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from lib.errors import InvalidRequest, OperationError
from rbac import engine, signals
from rbac.door import authorize
from rbac.models import Profile, TemporaryPolicy
from rbac.roles import Actor
from rbac.validation import check_policy, show

GRANT_KEYS = frozenset(
    {"role", "user", "effect", "actions", "resource", "duration_seconds", "reason"}
)


class Refused(OperationError):
    """A grant or revocation the caller may not make."""

    code = "denied"
    status = 403


def active() -> QuerySet[TemporaryPolicy]:
    """The temporary policies in force now, soonest to expire first."""
    now = datetime.now(UTC)
    return TemporaryPolicy.objects.filter(revoked_at=None, expires_at__gt=now).order_by(
        "expires_at", "id"
    )


def active_for(roles: list[str]) -> list[TemporaryPolicy]:
    """The active temporary policies whose holder is among ``roles``."""
    return [grant for grant in active() if grant.holder in roles]


def record_change(
    request, event: str, before: Any, after: Any, error: OperationError | None, *, via: str
) -> None:
    """One record of a grant or revocation (``rbac.signals``; audit writes it)."""
    status = "succeeded" if error is None else "denied" if error.status == 403 else "failed"
    signals.send_policy_changed(
        user=request.user,
        request=request,
        event=event,
        before=before,
        after=after,
        via=via,
        status=status,
        error=error.message if error else None,
    )


def seconds_left(grant: TemporaryPolicy) -> int:
    return max(0, int((grant.expires_at - datetime.now(UTC)).total_seconds()))


def grant(*, granter: Actor, data: Any) -> TemporaryPolicy:
    """Create the temporary policy ``data`` describes; raises ``OperationError`` (400, 403)."""
    holder, policy, duration, reason = _checked(data)
    _within_granter(granter, policy["actions"], policy["resource"])
    return TemporaryPolicy.objects.create(
        role=holder.get("role", ""),
        user_login=holder.get("user", ""),
        effect=policy["effect"],
        actions=policy["actions"],
        resource=policy["resource"],
        reason=reason,
        granted_by=granter.login,
        granted_by_pk=granter.user_pk,
        expires_at=datetime.now(UTC) + timedelta(seconds=duration),
    )


def _checked(data: Any) -> tuple[dict, dict, int, str]:
    if not isinstance(data, Mapping):
        raise InvalidRequest("the body must be a JSON object")
    unknown = sorted(str(key) for key in data if key not in GRANT_KEYS)
    if unknown:
        raise InvalidRequest(f"unknown field {show(unknown[0])}")
    holder = _holder(data)
    policy, errors = check_policy(
        {
            "resource": data.get("resource"),
            "effect": data.get("effect", "Allow"),
            "actions": data.get("actions"),
            "roles": ["-"],  # the holder is checked above
        }
    )
    if errors:
        raise InvalidRequest("; ".join(str(error) for error in errors))
    return holder, policy, _duration(data.get("duration_seconds")), _reason(data.get("reason"))


def _holder(data: Mapping) -> dict:
    role, user = data.get("role"), data.get("user")
    if (role is None) == (user is None):
        raise InvalidRequest('give "role" or "user" (one of them)')
    value = role if user is None else user
    if not isinstance(value, str) or not value.strip() or ":" in value or len(value) > 150:
        raise InvalidRequest(f"{show(value)} must be a role or login (text, no colon)")
    if user is not None and not Profile.objects.filter(login=value.strip()).exists():
        raise InvalidRequest(f"no user {show(value)} has signed in to Flex")
    return {"role": value.strip()} if user is None else {"user": value.strip()}


def _duration(value: Any) -> int:
    cap = settings.FLEX_TEMPORARY_POLICY_MAX_SECONDS
    if type(value) is not int or value < 1:  # noqa: E721 - a bool is no duration
        raise InvalidRequest(f"duration_seconds: {show(value)} must be a whole number of seconds")
    if value > cap:
        raise InvalidRequest(
            f"duration_seconds: {value} is above the cap of {cap} seconds "
            "(FLEX_TEMPORARY_POLICY_MAX_SECONDS)",
            code="exceeds_cap",
        )
    return value


def _reason(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("reason: required (why this access is granted)")
    return value.strip()


def _within_granter(granter: Actor, actions: list[str], resource: list[str]) -> None:
    """The granter must be allowed every action on the resource by the door and by the policy
    table alone: a temporary grant of their own cannot be passed on, nor outlived."""
    table = engine.permanent_policy_set()
    for action in actions:
        by_door = authorize(granter, action, resource)
        by_table = table.decide(granter.roles, action, resource)
        if not (by_door.success and by_table.success):
            raise Refused(
                f"you are not allowed {action} on {'/'.join(resource)} yourself: "
                "a temporary policy cannot grant more than its granter holds",
                code="exceeds_granter",
            )


def revoke(*, pk: int, by: Actor) -> TemporaryPolicy:
    """End an active temporary policy now; 404 if unknown, 409 if no longer active."""
    found = TemporaryPolicy.objects.filter(pk=pk).first()
    if found is None:
        raise OperationError(f"no temporary policy {pk}", code="not_found", status=404)
    now = datetime.now(UTC)
    claimed = TemporaryPolicy.objects.filter(pk=pk, revoked_at=None, expires_at__gt=now).update(
        revoked_at=now, revoked_by=by.login
    )
    if claimed != 1:
        raise OperationError(
            f"temporary policy {pk} is no longer active", code="not_active", status=409
        )
    found.refresh_from_db()
    return found


def expire_due(record: Callable[[TemporaryPolicy], None]) -> int:
    """Claim each temporary policy whose time ran out and whose expiry nobody recorded yet,
    by a conditional update (two workers never claim the same one), and ``record`` it in the
    claim's transaction: the expiry is recorded exactly once. Returns how many."""
    now = datetime.now(UTC)
    due = TemporaryPolicy.objects.filter(revoked_at=None, expired_at=None, expires_at__lte=now)
    count = 0
    for candidate in due.order_by("expires_at", "id")[:500]:
        with transaction.atomic():
            claimed = TemporaryPolicy.objects.filter(pk=candidate.pk, expired_at=None).update(
                expired_at=now
            )
            if claimed:
                candidate.expired_at = now
                record(candidate)
                count += 1
    return count
