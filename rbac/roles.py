"""Role resolution: what roles a user holds, and who they are in audit records."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from rbac.models import USER_ROLE_PREFIX, Profile, user_role

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who acts: the ``user`` block of an audit record plus the roles RBAC decides on."""

    flex_id: uuid.UUID | None
    login: str
    name: str = ""
    email: str = ""
    provider: str = "local"
    roles: tuple[str, ...] = field(default_factory=tuple)
    user_pk: int | None = None
    superuser: bool = False

    @property
    def named_roles(self) -> list[str]:
        """The roles without the actor's own pseudo-role (as a sign-in record lists them)."""
        return [role for role in self.roles if not role.startswith(USER_ROLE_PREFIX)]

    def as_record(self) -> dict:
        return {
            "provider": self.provider,
            "email": self.email,
            "name": self.name,
            "login": self.login,
            "id": str(self.flex_id) if self.flex_id else None,
        }


def profile_for(user) -> Profile:
    """The user's Profile, created on first use for local accounts."""
    try:
        return user.flex_profile
    except Profile.DoesNotExist:
        profile, _ = Profile.objects.get_or_create(
            user=user,
            defaults={
                "login": user.get_username(),
                "name": user.get_full_name(),
                "email": user.email,
            },
        )
        return profile


# Answers remembered for the current request only (RbacMemoMiddleware opens and closes it):
# a page asks these questions many times (view, navigation, gate) and they can't change
# within it. Outside a request nothing is remembered.
_request_memo: ContextVar[dict | None] = ContextVar("flex_rbac_memo", default=None)


def memo(user_pk: int | None, key: str, compute: Callable[[], T]) -> T:
    """``compute()``, remembered for the rest of this request under (user, key)."""
    remembered = _request_memo.get()
    if remembered is None:
        return compute()
    slot = (user_pk, key)
    if slot not in remembered:
        remembered[slot] = compute()
    return remembered[slot]


def forget(user) -> None:
    """Drop what this request remembered about ``user`` (after their roles changed)."""
    remembered = _request_memo.get()
    if remembered is not None:
        for slot in [slot for slot in remembered if slot[0] == user.pk]:
            del remembered[slot]


class RbacMemoMiddleware:
    """Remember role answers for the length of one request."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _request_memo.set({})
        try:
            return self.get_response(request)
        finally:
            _request_memo.reset(token)


def roles_for_user(user) -> list[str]:
    """The provider's roles (GitHub org role, teams) joined by the user's Django group names."""
    if not user.is_authenticated:
        return []
    return list(memo(user.pk, "roles", lambda: _roles(user)))


def _roles(user) -> tuple[str, ...]:
    roles = list(profile_for(user).provider_roles)
    for name in user.groups.values_list("name", flat=True):
        if name not in roles:
            roles.append(name)
    return tuple(roles)


def decision_roles(user) -> list[str]:
    """The roles decisions are made on: ``roles_for_user`` and the user's own pseudo-role
    (``user:LOGIN``), which temporary policies granted to that one user are filed under."""
    if not user.is_authenticated:
        return []
    login = profile_for(user).login or user.get_username()
    return [*roles_for_user(user), user_role(login)]


def actor_for_user(user) -> Actor:
    profile = profile_for(user)
    return Actor(
        flex_id=profile.flex_id,
        login=profile.login or user.get_username(),
        name=profile.name or user.get_full_name(),
        email=profile.email or user.email,
        provider=profile.provider,
        roles=tuple(decision_roles(user)),
        user_pk=user.pk,
        superuser=user.is_superuser,
    )
