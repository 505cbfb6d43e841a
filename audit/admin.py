from django.contrib import admin

from audit.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: records are never changed."""

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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
