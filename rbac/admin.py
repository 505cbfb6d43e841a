"""Django admin for policies and access settings (admins only).

Every change made here sends ``rbac.signals.policy_changed`` once, inside the change's
transaction, with the state before and after; audit records it.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from lib.files import FileAdmin
from rbac import signals
from rbac.actions import CATALOGUE
from rbac.door import is_admin
from rbac.forms import AccessSettingsForm, ImportForm, PolicyForm
from rbac.models import AccessSettings, Policy, Profile
from rbac.yaml_io import PolicyFileError, export_text, import_text


def json_list_contains(queryset: QuerySet, field: str, value: str) -> QuerySet:
    """Rows whose JSON list ``field`` holds ``value`` (in SQL where the database can)."""
    if connections[queryset.db].features.supports_json_field_contains:
        return queryset.filter(**{f"{field}__contains": [value]})
    ids = [pk for pk, items in queryset.values_list("pk", field) if value in (items or [])]
    return queryset.filter(pk__in=ids)


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        roles = {role for items in Policy.objects.values_list("roles", flat=True) for role in items}
        return [(role, role) for role in sorted(roles)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return json_list_contains(queryset, "roles", self.value())
        return queryset


class ActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action_name"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        lists = Policy.objects.values_list("actions", flat=True)
        used = {name for items in lists for name in items}
        return [(name, name) for name in CATALOGUE if name in used]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return json_list_contains(queryset, "actions", self.value())
        return queryset


class ResourceFilter(admin.SimpleListFilter):
    """Policies by what their resource names: a whole cluster, topics or consumer groups."""

    title = "resource"
    parameter_name = "resource_kind"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("cluster", "whole clusters"), ("topic", "topics"), ("group", "consumer groups")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        kind = self.value()
        if kind == "cluster":
            return queryset.filter(resource__2__isnull=True)
        if kind in ("topic", "group"):
            return queryset.filter(resource__2=kind)
        return queryset


class AdminsOnly:
    """Policies and access settings open to Flex admins (admin roles, superusers) only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_admin(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_admin(request.user)


class Audited:
    """Sends ``policy_changed`` once per admin create, change, delete or bulk delete,
    with snapshots before and after, inside the admin's transaction."""

    events: tuple[str, str, str]  # create, edit, delete

    def snapshot(self, obj) -> dict:
        return obj.snapshot()

    def _signal(self, request: HttpRequest, event: str, before, after) -> None:
        signals.send_policy_changed(
            user=request.user, request=request, event=event, before=before, after=after
        )

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        model = type(obj)
        before = self.snapshot(model.objects.get(pk=obj.pk)) if change and obj.pk else None
        self.stamp(request, obj, change)
        super().save_model(request, obj, form, change)
        create, edit, _ = self.events
        self._signal(request, edit if change else create, before, self.snapshot(obj))

    def stamp(self, request: HttpRequest, obj, change: bool) -> None:
        """Record who changed ``obj`` on the object itself, where the model has the fields."""

    def delete_model(self, request: HttpRequest, obj) -> None:
        before = self.snapshot(obj)
        super().delete_model(request, obj)
        self._signal(request, self.events[2], before, None)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            before = [self.snapshot(obj) for obj in queryset.select_for_update()]
            super().delete_queryset(request, queryset)
            self._signal(request, self.events[2], before, None)


@admin.register(Policy)
class PolicyAdmin(AdminsOnly, Audited, FileAdmin, admin.ModelAdmin):
    form = PolicyForm
    file_title, file_noun, file_name = "policies", "policy", "flex-policies"
    file_keys = ("authorized_roles", "admin_roles", "auditor_roles", "policies")
    import_form, import_template, file_error = ImportForm, "admin/file_import.html", PolicyFileError
    change_list_template = "admin/rbac/policy/change_list.html"
    list_display = (
        "id",
        "effect",
        "resource_text",
        "actions_text",
        "roles_text",
        "enabled",
        "position",
        "description",
        "updated_by",
        "updated_at",
    )
    list_display_links = ("id", "resource_text")
    list_filter = ("effect", ResourceFilter, RoleFilter, ActionFilter, "enabled")
    search_fields = ("description", "resource", "actions", "roles", "created_by", "updated_by")
    readonly_fields = ("created_at", "created_by", "updated_at", "updated_by")
    actions = ["enable_policies", "disable_policies"]
    list_per_page = 100

    @admin.display(description="resource")
    def resource_text(self, obj: Policy) -> str:
        return " / ".join(str(part) for part in obj.resource)

    @admin.display(description="actions")
    def actions_text(self, obj: Policy) -> str:
        return ", ".join(obj.actions)

    @admin.display(description="roles")
    def roles_text(self, obj: Policy) -> str:
        return ", ".join(obj.roles)

    events = (signals.CREATE, signals.EDIT, signals.DELETE)

    def stamp(self, request: HttpRequest, obj: Policy, change: bool) -> None:
        if not change:
            obj.created_by = request.user.get_username()
        obj.updated_by = request.user.get_username()

    @admin.action(description="Enable selected policies")
    def enable_policies(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected policies")
    def disable_policies(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet, enabled: bool) -> None:
        with transaction.atomic():
            ids = list(queryset.select_for_update().values_list("pk", flat=True))
            chosen = Policy.objects.filter(pk__in=ids).order_by("position", "id")
            before = [p.snapshot() for p in chosen]
            count = chosen.update(
                enabled=enabled, updated_by=request.user.get_username(), updated_at=timezone.now()
            )
            self._signal(request, signals.EDIT, before, [p.snapshot() for p in chosen.all()])
        state = "enabled" if enabled else "disabled"
        self.message_user(request, f"{count} policies {state}.", messages.SUCCESS)

    def import_file(self, request: HttpRequest, text: bytes, *, replace: bool):
        return import_text(
            text,
            replace=replace,
            by=request.user.get_username(),
            user=request.user,
            request=request,
            via="admin",
        )

    def import_refused(self, request: HttpRequest, errors: list[str]) -> None:
        signals.send_policy_changed(
            user=request.user,
            request=request,
            event=signals.IMPORT,
            before=None,
            after=None,
            status="failed",
            error="; ".join(errors),
        )

    def export_file(self) -> str:
        return export_text()


@admin.register(AccessSettings)
class AccessSettingsAdmin(AdminsOnly, Audited, admin.ModelAdmin):
    """The single row: the list opens it, nobody adds or deletes one."""

    form = AccessSettingsForm
    events = (signals.EDIT_ACCESS, signals.EDIT_ACCESS, signals.EDIT_ACCESS)
    list_display = ("__str__", "authorized_roles", "admin_roles", "auditor_roles", "updated_by")
    readonly_fields = ("tenants", "updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # AccessSettings.load() creates the row

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)
        settings_row = AccessSettings.load()
        return HttpResponseRedirect(
            reverse("admin:rbac_accesssettings_change", args=[settings_row.pk])
        )

    def stamp(self, request: HttpRequest, obj: AccessSettings, change: bool) -> None:
        obj.updated_by = request.user.get_username()


@admin.register(Profile)
class ProfileAdmin(AdminsOnly, Audited, admin.ModelAdmin):
    """Profiles hold provider roles, so a change here changes what someone may do."""

    events = (signals.CREATE_PROFILE, signals.EDIT_PROFILE, signals.DELETE_PROFILE)
    list_display = ("user", "provider", "login", "email", "provider_roles", "flex_id")
    search_fields = ("login", "email", "name", "user__username")
    readonly_fields = ("flex_id",)
