"""What the two policy files (RBAC policies, data policies) share: importing all or nothing
with exactly one record either way, and the admin's Import YAML / Export YAML views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

Result = TypeVar("Result")


def import_all_or_nothing(
    text: str | bytes,
    *,
    parse: Callable[[str | bytes], Any],
    apply: Callable[[Any], Result],
    state: Callable[[], object],
    record: Callable[..., None],
    error: type[Exception],
    extra: dict,
    summary: Callable[[Result], dict],
) -> Result:
    """Parse, then apply in one transaction; ``record`` is called exactly once, with
    ``before``, ``after``, ``extra`` and, for a file that does not parse, ``status`` and
    ``error`` (the parse error is raised again after it)."""
    try:
        parsed = parse(text)
    except error as exc:
        record(
            before=None,
            after=None,
            status="failed",
            error="; ".join(exc.errors)[:2000],
            extra=extra,
        )
        raise
    with transaction.atomic():
        before = state()
        result = apply(parsed)
        record(before=before, after=state(), extra={**extra, **summary(result)})
    return result


class FileAdmin:
    """Import YAML and Export YAML on a model admin (admins only, as the admin itself).

    A subclass names its file (``file_title``, ``file_noun``, ``file_keys``, ``file_name``), its
    ``import_form`` (``file`` and ``replace``), the ``import_template``, the ``file_error``
    its parser raises, and implements ``import_file``, ``import_refused`` and ``export_file``.
    The URLs are ``admin:<app>_<model>_import`` and ``admin:<app>_<model>_export``.
    """

    file_title: str  # "policies"
    file_noun: str  # "policy": "Upload a policy file"
    file_keys: tuple[str, ...]  # the file's top-level keys, for the import page
    file_name: str  # "flex-policies": the export is <file_name>-<timestamp>.yaml
    import_form: type[forms.Form]
    import_template: str
    file_error: type[Exception]

    def import_file(self, request: HttpRequest, text: Any, *, replace: bool) -> Any:
        """Import the upload (raises ``file_error``); the result has ``summary()``."""
        raise NotImplementedError

    def import_refused(self, request: HttpRequest, errors: list[str]) -> None:
        """Record an upload the form refused (too large, not UTF-8)."""
        raise NotImplementedError

    def export_file(self) -> str:
        raise NotImplementedError

    def _url_name(self, what: str) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{what}"

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        custom = [
            path("import/", view(self.import_view), name=self._url_name("import")),
            path("export/", view(self.export_view), name=self._url_name("export")),
        ]
        return custom + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse(f"Only admins may import {self.file_title}.", status=403)
        form, errors = self.import_form(), []
        if request.method == "POST":
            form = self.import_form(request.POST, request.FILES)
            errors = self._import(request, form)
            if not errors:
                return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "title": f"Import {self.file_title}",
            "file_noun": self.file_noun,
            "file_keys": self.file_keys,
        }
        return TemplateResponse(request, self.import_template, context)

    def _import(self, request: HttpRequest, form: forms.Form) -> list[str]:
        """Import the upload; the errors to show (none on success)."""
        if not form.is_valid():
            errors = [f"{field}: {e}" for field, items in form.errors.items() for e in items]
            self.import_refused(request, errors)
            return errors
        try:
            result = self.import_file(
                request, form.cleaned_data["file"], replace=form.cleaned_data["replace"]
            )
        except self.file_error as exc:
            return exc.errors
        for note in getattr(result, "notes", ()):
            self.message_user(request, note, messages.WARNING)
        self.message_user(request, f"Imported: {result.summary()}.", messages.SUCCESS)
        return []

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(f"Only admins may export {self.file_title}.", status=403)
        response = HttpResponse(self.export_file(), content_type="application/yaml; charset=utf-8")
        name = f"{self.file_name}-{datetime.now(UTC):%Y%m%d-%H%M%S}.yaml"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
