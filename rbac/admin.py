from django.contrib import admin

from rbac.models import AccessSettings, Policy, Profile


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("id", "effect", "resource", "actions", "roles", "enabled")
    list_filter = ("effect", "enabled")


@admin.register(AccessSettings)
class AccessSettingsAdmin(admin.ModelAdmin):
    list_display = ("authorized_roles", "admin_roles", "auditor_roles")


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "provider", "login", "email", "flex_id")
    readonly_fields = ("flex_id",)
