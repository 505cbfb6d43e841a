"""Audit records for changes made in Django admin to models that do not record their own.

Policies, access settings, profiles and clusters record their changes themselves, with
domain-shaped before/after. The remaining admin models (users, groups, API tokens,
GitHub identities) get the same treatment here: ``audit_admin(model)`` re-registers the
model's admin with ``AuditedAdminMixin``, so each add, change (including its many-to-many
fields, e.g. a user's groups — groups are roles), delete, bulk delete and password change
leaves exactly one record, failed attempts included. Social-auth's internal nonces and
associations become read-only: nobody needs to edit them. Called from AuditConfig.ready().
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.text import slugify

from audit.gate import ctx_from_request, record_event
from audit.models import AuditRecord
from audit.records import REDACTED
from rbac.roles import actor_for_user

# Field names whose values are secrets in these models (besides anything records.redact
# already treats as one): a token's key, the OAuth tokens inside a social identity.
SECRET_FIELDS = frozenset({"password", "key", "extra_data", "secret", "handle"})


def snapshot(obj: models.Model | None) -> dict | None:
    """The object's fields for an audit record; secrets only say whether they are set."""
    if obj is None:
        return None
    data: dict = {}
    for field in obj._meta.concrete_fields:
        value = getattr(obj, field.attname)
        if field.name in SECRET_FIELDS:
            value = REDACTED if value else None
        data[field.name] = value if isinstance(value, str | int | bool | None) else str(value)
    if obj.pk is not None:
        for field in obj._meta.many_to_many:
            data[field.name] = sorted(str(related) for related in getattr(obj, field.name).all())
    return data


def label(obj: models.Model | None) -> str:
    """How a record names the object: its text, unless that is empty or a secret (a token's
    text is its key)."""
    if obj is None:
        return ""
    try:
        text = str(obj)
    except TypeError:  # a model whose __str__ fails once the row is gone
        text = ""
    secrets = {
        str(getattr(obj, f.attname)) for f in obj._meta.concrete_fields if f.name in SECRET_FIELDS
    }
    if not text or text in secrets:
        return f"{obj._meta.verbose_name} #{obj.pk}"
    return text


def _event(model: type[models.Model], verb: str) -> str:
    return f"mutation/{verb}-{slugify(str(model._meta.verbose_name))}"


def _record(request: HttpRequest, event: str, body: dict, status: str, error: str | None) -> None:
    record_event(
        actor=actor_for_user(request.user),
        type="mutation/request",
        event=event,
        request=body,
        ctx=ctx_from_request(request, via="admin"),
        status=status,
        error=error,
        action="ADMIN",
    )


class AuditedAdminMixin:
    """One audit record per change an admin makes through this ModelAdmin."""

    model: type[models.Model]

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context=None,
    ) -> HttpResponse:
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        current = self._current(object_id)
        before = snapshot(current)  # now: many-to-many fields are read when snapshotted
        response = super().changeform_view(request, object_id, form_url, extra_context)
        saved = response.status_code in (301, 302)
        obj = getattr(request, "_flex_admin_saved", None) or self._current(object_id)
        _record(
            request,
            _event(self.model, "edit" if object_id else "create"),
            {
                "object": label(obj or current),
                "before": before,
                "after": snapshot(obj) if saved else None,
            },
            AuditRecord.SUCCEEDED if saved else AuditRecord.FAILED,
            None if saved else _form_errors(response),
        )
        return response

    def save_model(self, request: HttpRequest, obj: models.Model, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        request._flex_admin_saved = obj  # what changeform_view records as "after"

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        before = snapshot(obj)
        super().delete_model(request, obj)
        _record(
            request,
            _event(self.model, "delete"),
            {"object": label(obj), "before": before, "after": None},
            AuditRecord.SUCCEEDED,
            None,
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        objects = list(queryset)
        before = [snapshot(obj) for obj in objects]
        super().delete_queryset(request, queryset)
        _record(
            request,
            _event(self.model, "delete"),
            {"objects": [label(obj) for obj in objects], "before": before, "after": None},
            AuditRecord.SUCCEEDED,
            None,
        )

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """UserAdmin's "set password" page: recorded without the password, of course."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST":
            saved = response.status_code in (301, 302)
            target = self._current(id)
            _record(
                request,
                "mutation/set-user-password",
                {"object": label(target) or id},
                AuditRecord.SUCCEEDED if saved else AuditRecord.FAILED,
                None if saved else _form_errors(response),
            )
        return response

    def _current(self, object_id: str | None) -> models.Model | None:
        if not object_id:
            return None
        try:
            return self.model._default_manager.filter(pk=object_id).first()
        except (ValueError, TypeError, models.ObjectDoesNotExist):
            return None


def _form_errors(response: HttpResponse) -> str:
    context = getattr(response, "context_data", None) or {}
    errors = context.get("errors") or context.get("adminform") and context["adminform"].form.errors
    text = "; ".join(str(e) for e in (errors or []))[:300]
    return text or "the form was not accepted"


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


AUDITED = ("auth.user", "auth.group", "social_django.usersocialauth")
READ_ONLY = ("social_django.nonce", "social_django.association")


def _wrap(label: str, mixin: type, site: admin.AdminSite) -> None:
    model = next((m for m in site._registry if m._meta.label_lower == label), None)
    if model is None:
        return
    admin_class = type(site._registry[model])
    site.unregister(model)
    site.register(
        model, type(f"{mixin.__name__[:-5]}{admin_class.__name__}", (mixin, admin_class), {})
    )


def _audited_password_change(site: admin.AdminSite):
    original = site.password_change

    def password_change(request: HttpRequest, extra_context=None) -> HttpResponse:
        response = original(request, extra_context)
        if request.method == "POST":
            saved = response.status_code in (301, 302)
            _record(
                request,
                "mutation/change-own-password",
                {"object": request.user.get_username()},
                AuditRecord.SUCCEEDED if saved else AuditRecord.FAILED,
                None if saved else "the form was not accepted",
            )
        return response

    return password_change


def install(site: admin.AdminSite = admin.site) -> None:
    for label in AUDITED:
        _wrap(label, AuditedAdminMixin, site)
    for label in READ_ONLY:
        _wrap(label, ReadOnlyAdminMixin, site)
    site.password_change = _audited_password_change(site)
