"""Django admin for data policies and their exclusions (Flex admins only).

Every change here — add, change, delete, bulk delete, import — leaves one
``mutation/edit-data-policies`` audit record with the state before and after, written
inside the change's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from datapolicy import recording
from datapolicy.forms import DataPolicyForm, ExclusionsForm, ImportForm
from datapolicy.models import DataPolicy, DataPolicySettings
from datapolicy.yaml_io import DataPolicyFileError, export_text, import_text
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
class DataPolicyAdmin(AdminsOnly, Recorded, admin.ModelAdmin):
    form = DataPolicyForm
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

    def get_urls(self) -> list:
        custom = [
            path("import/", self.admin_site.admin_view(self.import_view), name="datapolicy_import"),
            path("export/", self.admin_site.admin_view(self.export_view), name="datapolicy_export"),
        ]
        return custom + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse("Only admins may import data policies.", status=403)
        form, errors = ImportForm(), []
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            errors = self._import(request, form)
            if not errors:
                return HttpResponseRedirect(reverse("admin:datapolicy_datapolicy_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "title": "Import data policies",
        }
        return TemplateResponse(request, "admin/datapolicy/datapolicy/import.html", context)

    def _import(self, request: HttpRequest, form: ImportForm) -> list[str]:
        if not form.is_valid():
            errors = [f"{field}: {e}" for field, items in form.errors.items() for e in items]
            recording.change_recorded(
                request=request,
                change="import",
                before=None,
                after=None,
                status="failed",
                error="; ".join(errors),
            )
            return errors
        try:
            result = import_text(
                form.cleaned_data["file"],
                replace=form.cleaned_data["replace"],
                by=request.user.get_username(),
                request=request,
                via="admin",
            )
        except DataPolicyFileError as exc:
            return exc.errors
        self.message_user(request, f"Imported: {result.summary()}.", messages.SUCCESS)
        return []

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse("Only admins may export data policies.", status=403)
        response = HttpResponse(export_text(), content_type="application/yaml; charset=utf-8")
        name = f"flex-data-policies-{datetime.now(UTC):%Y%m%d-%H%M%S}.yaml"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


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
