"""Signals rbac sends so that audit can record policy changes without rbac importing audit.

``policy_changed(sender, user, request, event, before, after, via, status, error, extra)``
is sent once per change made in Django admin or by import, inside the change's
transaction; ``event`` is ``mutation/create-policy``, ``mutation/edit-policy``,
``mutation/delete-policy``, ``mutation/import-policies`` or
``mutation/edit-access-settings`` (and ``mutation/create-profile``, ``edit-profile``,
``delete-profile`` for profiles, which hold provider roles; ``mutation/grant-temporary-policy``,
``revoke-temporary-policy`` and ``expire-temporary-policy`` for temporary policies). ``user``
and ``request`` are None for the command line, and for Flex itself with ``via="system"``.

``policy_simulated(sender, user, request, via, query, status, error)`` is sent once per
simulation (the simulator page or ``POST /api/rbac/decide``).
"""

from __future__ import annotations

from django.dispatch import Signal

policy_changed = Signal()
policy_simulated = Signal()

CREATE = "mutation/create-policy"
EDIT = "mutation/edit-policy"
DELETE = "mutation/delete-policy"
IMPORT = "mutation/import-policies"
EDIT_ACCESS = "mutation/edit-access-settings"
CREATE_PROFILE = "mutation/create-profile"
EDIT_PROFILE = "mutation/edit-profile"
DELETE_PROFILE = "mutation/delete-profile"
SIMULATE = "query/simulate-policy"
GRANT_TEMPORARY = "mutation/grant-temporary-policy"
REVOKE_TEMPORARY = "mutation/revoke-temporary-policy"
EXPIRE_TEMPORARY = "mutation/expire-temporary-policy"
EVENTS = (CREATE, EDIT, DELETE, IMPORT, EDIT_ACCESS, CREATE_PROFILE, EDIT_PROFILE, DELETE_PROFILE)
EVENTS += (SIMULATE, GRANT_TEMPORARY, REVOKE_TEMPORARY, EXPIRE_TEMPORARY)


def send_policy_changed(
    *,
    user,
    request,
    event: str,
    before: object,
    after: object,
    via: str = "admin",
    status: str = "succeeded",
    error: str | None = None,
    extra: dict | None = None,
) -> None:
    policy_changed.send(
        sender="rbac",
        user=user,
        request=request,
        event=event,
        before=before,
        after=after,
        via=via,
        status=status,
        error=error,
        extra=extra or {},
    )


def send_policy_simulated(
    *, user, request, via: str, query: dict, status: str = "succeeded", error: str | None = None
) -> None:
    policy_simulated.send(
        sender="rbac",
        user=user,
        request=request,
        via=via,
        query=query,
        status=status,
        error=error,
    )
