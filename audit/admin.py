from __future__ import annotations

from django.contrib import admin

from audit.models import AuditRecord, AuditSeal, DeliveryAttempt


class ReadOnlyAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: audit rows are never changed here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "ts",
        "login",
        "event",
        "action",
        "outcome",
        "cluster_id",
        "resource_name",
    )
    list_filter = ("outcome", "type")
    search_fields = ("login", "event", "resource_name")


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "sink", "delivered", "error", "permanent", "duration_ms")
    list_filter = ("sink", "permanent")


@admin.register(AuditSeal)
class AuditSealAdmin(ReadOnlyAdmin):
    list_display = ("seq", "record_id", "record_ts", "sealed_at")
    search_fields = ("=record_id",)
