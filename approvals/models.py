"""Approval requests: an action a Stage policy held back until another admin decides.

The request keeps the operation's input (``stored``, what the owning module rebuilds the
operation from, validated again when it runs), the request as its record shows it
(``request``, redacted) and ``digest``, a sha256 over the event, resource and stored input:
approving recomputes it and refuses a request that no longer matches.
"""

from __future__ import annotations

from django.db import models

from audit.models import uuid7


class Approval(models.Model):
    """One staged action and what became of it."""

    PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
    EXPIRED, FAILED, SUCCEEDED = "expired", "failed", "succeeded"
    STATES = [
        (PENDING, "pending"),
        (APPROVED, "approved"),  # decided; its execution is under way
        (REJECTED, "rejected"),
        (EXPIRED, "expired"),
        (FAILED, "failed"),  # approved, and the execution failed
        (SUCCEEDED, "succeeded"),  # approved, and the execution succeeded
    ]

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    event = models.CharField(max_length=80)
    action = models.CharField(max_length=40)
    resource = models.JSONField()
    stored = models.JSONField()
    request = models.JSONField()
    digest = models.CharField(max_length=64)
    requested_by = models.CharField(max_length=150)
    requested_by_pk = models.IntegerField(null=True, blank=True)
    requester = models.JSONField(help_text="the requester's user block, as records show it")
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    comment = models.TextField(blank=True)
    request_record = models.UUIDField()
    decision_record = models.UUIDField(null=True, blank=True)
    outcome_record = models.UUIDField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-created_at"], name="approvals_state"),
            models.Index(fields=["requested_by_pk", "-created_at"], name="approvals_requester"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {'/'.join(self.resource)} by {self.requested_by}: {self.state}"

    def as_json(self) -> dict:
        """The request as the API shows it: exactly what will run (payload redacted)."""
        return {
            "id": str(self.id),
            "state": self.state,
            "operation": self.event,
            "action": self.action,
            "resource": list(self.resource),
            "request": self.request,
            "requested_by": self.requester,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decided_by": self.decided_by or None,
            "comment": self.comment,
            "error": self.error or None,
            "records": {
                "request": str(self.request_record),
                "decision": str(self.decision_record) if self.decision_record else None,
                "outcome": str(self.outcome_record) if self.outcome_record else None,
            },
        }
