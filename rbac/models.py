"""RBAC data: policies, temporary policies, access settings, profiles, the version counter.

Every write to the policy table (and to the temporary policy table) bumps ``PolicyVersion``
in the same transaction, through a database trigger (migrations 0002 and 0004), so bulk
updates, imports and changes made in psql all reach every process's compiled policies.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Value
from django.db.models.functions import Cast, Concat

from rbac import staleness
from rbac.index import policy_record
from rbac.validation import check_policy


def _stale() -> None:
    staleness.note_write()


class PolicyQuerySet(models.QuerySet):
    """Bulk writes (of policies, temporary policies or the access settings) forget this
    process's compiled policies at once; other processes see the version the trigger bumps."""

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        _stale()
        return rows

    def delete(self) -> tuple[int, dict[str, int]]:
        result = super().delete()
        _stale()
        return result

    def bulk_create(self, objs, *args, **kwargs) -> list:
        created = super().bulk_create(objs, *args, **kwargs)
        _stale()
        return created


class Policy(models.Model):
    """One RBAC rule: the roles it applies to, the actions, the resource, Allow or Deny."""

    ALLOW, DENY, STAGE = "Allow", "Deny", "Stage"
    EFFECTS = [(ALLOW, "Allow"), (DENY, "Deny"), (STAGE, "Stage (needs an approval)")]

    resource = models.JSONField(
        help_text='e.g. ["cluster", "*"] or ["cluster", "*", "topic", "tx-*"]'
    )
    effect = models.CharField(max_length=8, choices=EFFECTS)
    actions = models.JSONField(help_text="list of action names")
    roles = models.JSONField(help_text='list of roles; "*" is anyone')
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0, help_text="order in the policy file")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)
    # resource, actions and roles as JSON text, kept by the database on every write: the
    # engine loads the table as one value, and writing jsonb out as text is most of that.
    rules_text = models.GeneratedField(
        expression=Concat(
            Cast("resource", models.TextField()),
            Value(","),
            Cast("actions", models.TextField()),
            Value(","),
            Cast("roles", models.TextField()),
            output_field=models.TextField(),
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    objects = PolicyQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        actions, roles = ",".join(self.actions or []), ",".join(self.roles or [])
        resource = "/".join(str(part) for part in self.resource or [])
        return f"{self.effect} {actions} on {resource} for {roles}"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _stale()

    def delete(self, *args, **kwargs) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        _stale()
        return result

    def clean(self) -> None:
        """Validate with the same rules as import and the API; errors name field and value."""
        cleaned, errors = check_policy(self.as_data())
        if errors:
            by_field: dict[str, list[str]] = {}
            for error in errors:
                field = "roles" if error.field == "role" else error.field
                if field not in ("resource", "effect", "actions", "roles", "description"):
                    field = "__all__"
                by_field.setdefault(field, []).append(error.message)
            raise ValidationError(by_field)
        self.actions, self.roles = cleaned["actions"], cleaned["roles"]

    def as_data(self) -> dict:
        """The policy's rule as a policy file holds it (``roles`` always a list)."""
        return {
            "resource": self.resource,
            "effect": self.effect,
            "actions": self.actions,
            "roles": self.roles,
            "description": self.description,
        }

    def snapshot(self) -> dict:
        """Everything an audit record shows before and after a change."""
        return {
            "id": self.pk,
            "resource": list(self.resource or []),
            "effect": self.effect,
            "actions": list(self.actions or []),
            "roles": list(self.roles or []),
            "description": self.description,
            "enabled": self.enabled,
            "position": self.position,
        }

    def as_record(self) -> dict:
        """The policy as audit records and the simulator show it (the seed's shape)."""
        return policy_record(self.resource, self.roles, self.effect, self.actions)


# The role a temporary policy granted to one user is filed under: every actor holds their
# own (rbac.roles), and no GitHub team or org role can be named so (``:`` is not allowed).
USER_ROLE_PREFIX = "user:"


def user_role(login: str) -> str:
    """The pseudo-role that stands for one user (``user:alice``)."""
    return USER_ROLE_PREFIX + login


class TemporaryPolicy(models.Model):
    """A policy granted by an admin to one role or one user until ``expires_at``.

    Active while neither revoked nor expired; the engine compiles the active ones after
    the policy table and recompiles when the earliest of them expires. ``expired_at`` is
    set (once, by a conditional update) when the expiry is recorded.
    """

    role = models.CharField(max_length=150, blank=True)
    user_login = models.CharField(max_length=150, blank=True)
    effect = models.CharField(max_length=8, choices=Policy.EFFECTS, default=Policy.ALLOW)
    actions = models.JSONField()
    resource = models.JSONField()
    reason = models.TextField()
    granted_by = models.CharField(max_length=150)
    granted_by_pk = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "temporary policies"
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="rbac_temp_live",
                condition=models.Q(revoked_at=None, expired_at=None),
            )
        ]

    def __str__(self) -> str:
        return f"temporary {self.effect} {','.join(self.actions)} for {self.holder}"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _stale()

    @property
    def holder(self) -> str:
        """Who holds it: the role, or ``user:LOGIN``."""
        return self.role or user_role(self.user_login)

    @property
    def roles(self) -> list[str]:
        return [self.holder]

    def as_record(self) -> dict:
        """As decisions list it: the policy, with its id and expiry."""
        return {
            **policy_record(self.resource, self.roles, self.effect, self.actions),
            "temporary-policy": self.pk,
            "expires-at": self.expires_at.isoformat(),
        }

    def snapshot(self) -> dict:
        return {
            "id": self.pk,
            "role": self.role or None,
            "user": self.user_login or None,
            "effect": self.effect,
            "actions": list(self.actions),
            "resource": list(self.resource),
            "reason": self.reason,
            "granted-by": self.granted_by,
            "expires-at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked-at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def default_authorized_roles() -> list[str]:
    return ["*"]


class AccessSettings(models.Model):
    """Which roles may use Flex at all, and which open the admin and auditor pages (one row).

    Each process keeps the row beside its compiled policies (``rbac.engine.current_access``);
    a write bumps the same version stamp as a policy write (trigger), and in this process
    the write count (``save``, and ``objects`` for bulk writes)."""

    authorized_roles = models.JSONField(default=default_authorized_roles)
    admin_roles = models.JSONField(default=list)
    auditor_roles = models.JSONField(default=list)
    tenants = models.JSONField(
        default=list, blank=True, help_text="kept from imports, not enforced"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        verbose_name = "access settings"
        verbose_name_plural = "access settings"

    def __str__(self) -> str:
        return "Access settings"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _stale()

    @classmethod
    def load(cls) -> AccessSettings:
        obj, _ = cls.objects.get_or_create(pk=1, defaults={"authorized_roles": ["*"]})
        return obj

    def snapshot(self) -> dict:
        return {
            "authorized_roles": list(self.authorized_roles),
            "admin_roles": list(self.admin_roles),
            "auditor_roles": list(self.auditor_roles),
            "tenants": self.tenants,
        }


class PolicyVersion(models.Model):
    """A single row counting changes to the policy table.

    A database trigger bumps ``version`` (and sets ``token`` to the writing
    transaction's id) in the same transaction as every INSERT, UPDATE, DELETE or
    TRUNCATE of ``rbac_policy``; each process compares ``(version, token)`` with
    the stamp it compiled at, at most once a second.
    """

    version = models.BigIntegerField(default=0)
    token = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"policy version {self.version}"


class Profile(models.Model):
    """A person's identity in Flex: the stable Flex id, the provider's login and their roles."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flex_profile"
    )
    flex_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider = models.CharField(max_length=32, default="local")
    login = models.CharField(max_length=150, blank=True)
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    github_id = models.CharField(max_length=32, blank=True)
    provider_roles = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.provider}:{self.login or self.user.get_username()}"

    def snapshot(self) -> dict:
        """What an audit record shows before and after an admin change."""
        return {
            "id": self.pk,
            "user": self.user.get_username() if self.user_id else None,
            "flex_id": str(self.flex_id),
            "provider": self.provider,
            "login": self.login,
            "name": self.name,
            "email": self.email,
            "github_id": self.github_id,
            "provider_roles": list(self.provider_roles or []),
        }
