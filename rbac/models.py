from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Policy(models.Model):
    """One RBAC rule: the roles it applies to, the actions, the resource, Allow or Deny."""

    ALLOW, DENY, STAGE = "Allow", "Deny", "Stage"
    EFFECTS = [(ALLOW, "Allow"), (DENY, "Deny"), (STAGE, "Stage (not enforced)")]

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

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        actions, roles = ",".join(self.actions), ",".join(self.roles)
        return f"{self.effect} {actions} on {'/'.join(self.resource)} for {roles}"

    def as_record(self) -> dict:
        """The policy as audit records and the simulator show it (the seed's shape)."""
        data: dict = {"resource": list(self.resource)}
        if len(self.roles) == 1:
            data["role"] = self.roles[0]
        else:
            data["roles"] = list(self.roles)
        data["effect"] = self.effect
        data["actions"] = list(self.actions)
        return data


class AccessSettings(models.Model):
    """Which roles may use Flex at all, and which open the admin and auditor pages (one row)."""

    authorized_roles = models.JSONField(default=list)
    admin_roles = models.JSONField(default=list)
    auditor_roles = models.JSONField(default=list)
    tenants = models.JSONField(
        default=list, blank=True, help_text="kept from imports, not enforced"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = "access settings"
        verbose_name_plural = "access settings"

    def __str__(self) -> str:
        return "Access settings"

    @classmethod
    def load(cls) -> AccessSettings:
        obj, _ = cls.objects.get_or_create(pk=1, defaults={"authorized_roles": ["*"]})
        return obj


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
