from __future__ import annotations

import os
import time
import uuid

from django.db import models


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7): ids sort by creation time."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


class AuditRecord(models.Model):
    """One user action or event, as it happened. Written once, never changed.

    The indexed columns are snapshots taken from the document for filtering; the
    document is the record as published to the audit topic and sinks.
    """

    SUCCEEDED, FAILED, DENIED = "succeeded", "failed", "denied"
    OUTCOMES = [(SUCCEEDED, "succeeded"), (FAILED, "failed"), (DENIED, "denied")]

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    ts = models.DateTimeField(db_index=True)
    flex_user_id = models.UUIDField(null=True, blank=True)
    user_pk = models.IntegerField(null=True, blank=True)
    login = models.CharField(max_length=150, blank=True)
    type = models.CharField(max_length=40)
    event = models.CharField(max_length=80)
    action = models.CharField(max_length=40, blank=True)
    outcome = models.CharField(max_length=10, choices=OUTCOMES)
    cluster_id = models.CharField(max_length=100, blank=True)
    resource_name = models.CharField(max_length=300, blank=True)
    document = models.JSONField()

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [
            models.Index(fields=["-ts", "-id"], name="audit_ts_id"),
            models.Index(fields=["flex_user_id", "-ts"], name="audit_user_ts"),
            models.Index(fields=["login", "-ts"], name="audit_login_ts"),
            models.Index(fields=["event", "-ts"], name="audit_event_ts"),
            models.Index(fields=["action", "-ts"], name="audit_action_ts"),
            models.Index(fields=["outcome", "-ts"], name="audit_outcome_ts"),
            models.Index(fields=["cluster_id", "-ts"], name="audit_cluster_ts"),
            models.Index(fields=["type", "-ts"], name="audit_type_ts"),
            models.Index(fields=["resource_name"], name="audit_resource"),
        ]

    def __str__(self) -> str:
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.login} {self.event} {self.outcome}"
