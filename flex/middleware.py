"""Middleware that keeps Flex's own error pages in front of Django's."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils.datastructures import MultiValueDict

from audit.gate import AuditUnavailable, record_event, who
from audit.models import AuditRecord
from flex import errors

OVERSIZED_EVENT = "mutation/oversized-request"

ADMIN_STAFF_ONLY = "Django admin is open to Flex admins only."
NUL_IN_QUERY = "The query string holds a NUL character, which no filter or search can match."


class ErrorPageMiddleware:
    """Flex's 404 page with DEBUG on, as with DEBUG off.

    With DEBUG off Django answers every 404 through ``handler404``; with DEBUG on it renders
    its technical page (the URL patterns, the settings module) instead, and no setting
    turns that off. A 403 needs nothing here: Django sends it to ``handler403`` either way.
    Two places, because an unresolved URL fails before any view runs, so
    ``process_exception`` never sees it: the response arrives here as a 404 with no
    ``resolver_match``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return errors.page_not_found(request, Resolver404())
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return errors.page_not_found(request, exception)
        return None


class AdminAccessMiddleware:
    """A signed-in user Django admin would refuse gets Flex's 403 page.

    Django admin sends whoever it refuses to its login page, which is our sign-in: a
    signed-in user would be asked to sign in again, and again. Signed-out users still go
    there, with ``next``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func, view_args, view_kwargs
    ) -> HttpResponse | None:
        if request.resolver_match.namespace != admin.site.name:
            return None
        if request.user.is_authenticated and not admin.site.has_permission(request):
            raise PermissionDenied(ADMIN_STAFF_ONLY)
        # PostgreSQL refuses NUL in a string: a changelist filter or search with one would 500.
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            return errors.bad_request(request, NUL_IN_QUERY)
        return None


AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class OversizedBodyMiddleware:
    """A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is answered 413 and recorded, on every
    audited endpoint, before anything reads it (Django would raise while CSRF reads the
    form, a 400 nobody records).

    Views that record their own refusal (the topic operations, so a too-large produce is a
    failed ``mutation/produce``) are marked ``handles_oversized``: for them the body is
    replaced by an empty one and ``request.flex_oversized`` is set. Its CSRF token went
    with the body, so CSRF cannot be checked; what runs is a refusal, never an action.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        size = oversized(request)
        if size is None:
            return self.get_response(request)
        if _handles_oversized(request):
            request.flex_oversized = size
            request._body = b""  # noqa: SLF001  (what Django reads the form and JSON from)
            request._post, request._files = QueryDict(), MultiValueDict()  # noqa: SLF001
            request.csrf_processing_done = True
            return self.get_response(request)
        try:
            record = _record_oversized(request, size)
        except AuditUnavailable as exc:
            return errors.unavailable(request, exc.message)
        return errors.too_large(request, size, record.id)


def _record_oversized(request: HttpRequest, size: int) -> AuditRecord:
    """One failed record of the refused request: who, where, how large."""
    actor, user, ctx = who(request, via="api" if errors.is_api(request) else "ui")
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return record_event(
        actor=actor,
        user=user,
        type="mutation/request",
        event=OVERSIZED_EVENT,
        request={"method": request.method, "path": request.path, "content-length": size},
        ctx=ctx,
        status=AuditRecord.FAILED,
        error=f"the request is {size} bytes; this server accepts at most {limit}",
    )


def oversized(request: HttpRequest) -> int | None:
    """The declared size of an audited request's body when it is over the limit."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if request.method not in AUDITED_METHODS or limit is None:
        return None
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return size if size > limit else None


def _handles_oversized(request: HttpRequest) -> bool:
    try:
        func = resolve(request.path_info).func
    except Resolver404:
        return False
    view = getattr(func, "view_class", func)
    return bool(getattr(view, "handles_oversized", False))
