"""Data policies: which parts of which topics' messages are masked, how, and for whom."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from datapolicy.redactions import REDACTIONS
from datapolicy.validation import TYPES, check_exclusions, check_policy


class DataPolicy(models.Model):
    """One masking rule in the console's format: the resources it covers (cluster, topic and
    optionally the part: key, value or headers), the redaction, whether it masks whole parts
    (``scalar``) or named fields at any depth (``non-scalar``), and the roles that see the
    clear value (``unmask_roles``, Flex only)."""

    name = models.CharField(max_length=200, unique=True)
    category = models.CharField(max_length=100, blank=True)
    resources = models.JSONField(help_text='e.g. [["cluster", "*", "topic", "*", "value"]]')
    redaction = models.CharField(max_length=20, choices=[(r, r) for r in REDACTIONS])
    policy_type = models.CharField(
        "type", max_length=12, choices=[(t, t) for t in TYPES], default="non-scalar"
    )
    fields = models.JSONField(default=list, blank=True, help_text="non-scalar: field names")
    unmask_roles = models.JSONField(default=list, blank=True, help_text="these see clear values")
    position = models.PositiveIntegerField(default=0, help_text="order in the policy file")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "data policy"
        verbose_name_plural = "data policies"

    def __str__(self) -> str:
        return self.name

    def as_data(self) -> dict:
        """The policy as a data-policy file holds it."""
        data: dict = {"name": self.name}
        if self.category:
            data["category"] = self.category
        data.update(
            resources=[list(r) for r in self.resources or []],
            redaction=self.redaction,
            type=self.policy_type,
        )
        if self.fields:
            data["fields"] = list(self.fields)
        if self.unmask_roles:
            data["unmask_roles"] = list(self.unmask_roles)
        return data

    def clean(self) -> None:
        """The same checks as import; errors name the key and the value."""
        cleaned, errors = check_policy(self.as_data())
        if errors:
            raise ValidationError(errors)
        self.fields, self.unmask_roles = cleaned["fields"], cleaned["unmask_roles"]

    def snapshot(self) -> dict:
        """Everything an audit record shows before and after a change."""
        return {"id": self.pk, **self.as_data(), "position": self.position}


class DataPolicySettings(models.Model):
    """The single row of what data policies leave alone: ``exclusions.topics``."""

    excluded_topics = models.JSONField(
        default=list, blank=True, help_text="topic names or globs no data policy masks"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = "data-policy exclusions"
        verbose_name_plural = "data-policy exclusions"

    def __str__(self) -> str:
        return "Data-policy exclusions"

    @classmethod
    def load(cls) -> DataPolicySettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def clean(self) -> None:
        topics, errors = check_exclusions({"topics": self.excluded_topics})
        if errors:
            raise ValidationError({"excluded_topics": errors})
        self.excluded_topics = topics

    def snapshot(self) -> dict:
        return {"exclusions": {"topics": list(self.excluded_topics or [])}}
