"""Django admin for data policies and their exclusions (Flex admins only).

Every change here — add, change, delete, bulk delete, import — leaves one
``mutation/edit-data-policies`` audit record with the state before and after, written
inside the change's transaction.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from datapolicy import recording
from datapolicy.forms import DataPolicyForm, ExclusionsForm, ImportForm
from datapolicy.models import DataPolicy, DataPolicySettings
from datapolicy.yaml_io import DataPolicyFileError, export_text, import_text
from lib.files import FileAdmin
from rbac.admin import AdminsOnly


class Recorded:
    """One audit record per admin create, change, delete or bulk delete."""

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        with transaction.atomic():
            before = type(obj).objects.get(pk=obj.pk).snapshot() if change and obj.pk else None
            obj.updated_by = request.user.get_username()
            super().save_model(request, obj, form, change)
            recording.change_recorded(
                request=request,
                change="edit" if change else "create",
                before=before,
                after=obj.snapshot(),
                extra={"object": str(obj)},
            )

    def delete_model(self, request: HttpRequest, obj) -> None:
        with transaction.atomic():
            before = obj.snapshot()
            super().delete_model(request, obj)
            recording.change_recorded(
                request=request,
                change="delete",
                before=before,
                after=None,
                extra={"object": str(obj)},
            )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            before = [obj.snapshot() for obj in queryset.select_for_update()]
            super().delete_queryset(request, queryset)
            recording.change_recorded(request=request, change="delete", before=before, after=None)


@admin.register(DataPolicy)
class DataPolicyAdmin(AdminsOnly, Recorded, FileAdmin, admin.ModelAdmin):
    form = DataPolicyForm
    file_title, file_noun, file_name = "data policies", "data-policy", "flex-data-policies"
    file_keys = ("policies", "exclusions")
    import_form, import_template = ImportForm, "admin/file_import.html"
    file_error = DataPolicyFileError
    change_list_template = "admin/datapolicy/datapolicy/change_list.html"
    list_display = (
        "name",
        "category",
        "redaction",
        "policy_type",
        "fields",
        "unmask_roles",
        "position",
    )
    list_filter = ("category", "redaction", "policy_type")
    search_fields = ("name", "category", "fields", "unmask_roles")
    readonly_fields = ("updated_at", "updated_by")

    def import_file(self, request: HttpRequest, text: str, *, replace: bool):
        return import_text(
            text, replace=replace, by=request.user.get_username(), request=request, via="admin"
        )

    def import_refused(self, request: HttpRequest, errors: list[str]) -> None:
        recording.change_recorded(
            request=request,
            change="import",
            before=None,
            after=None,
            status="failed",
            error="; ".join(errors),
        )

    def export_file(self) -> str:
        return export_text()


@admin.register(DataPolicySettings)
class DataPolicySettingsAdmin(AdminsOnly, Recorded, admin.ModelAdmin):
    """The single row: the list opens it, nobody adds or deletes one."""

    form = ExclusionsForm
    list_display = ("__str__", "excluded_topics", "updated_by")
    readonly_fields = ("updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)
        row = DataPolicySettings.load()
        return HttpResponseRedirect(
            reverse("admin:datapolicy_datapolicysettings_change", args=[row.pk])
        )
