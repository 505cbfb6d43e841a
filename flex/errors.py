"""Flex's own error pages: ``handler404``, ``handler403`` and ``handler500`` (flex/urls.py).

Every page answers in Flex's layout and says what went wrong in words, never with a
traceback or the URL patterns; ``/api/...`` answers the API's JSON envelope
``{"error": code, "detail": message}`` instead. ``flex.middleware`` routes 404s here with
DEBUG on too.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404, reverse

from lib.errors import Refused
from rbac.door import is_admin

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
REFUSED = "You may not open this page."
SERVER_ERROR = "Flex could not answer this request. The error is logged; please try again later."


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    detail = _not_found_message(request, exception)
    if is_api(request):
        return JsonResponse({"error": "not_found", "detail": detail}, status=404)
    return render(request, "404.html", {"message": detail}, status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = _message(exception) or REFUSED
    if is_api(request):
        return JsonResponse({"error": "denied", "detail": message}, status=403)
    context = {"message": message, **_needed(exception)}
    user = getattr(request, "user", None)
    if user is not None and is_admin(user):
        context["simulator_url"] = reverse("policy-simulate")
    return render(request, "403.html", context, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"error": "server_error", "detail": SERVER_ERROR}, status=500)
    # What failed may be what the page's context needs (the database, the session): then the
    # page renders without the request's context, and as plain text if even that fails.
    for context_request in (request, None):
        try:
            body = loader.render_to_string(
                "500.html", {"message": SERVER_ERROR}, request=context_request
            )
            return HttpResponseServerError(body)
        except Exception:
            logger.exception("the 500 page did not render")
    return HttpResponseServerError(SERVER_ERROR, content_type="text/plain")


def too_large(request: HttpRequest, size: int, record_id: object) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"The request is {size} bytes; this server accepts at most {limit}."
    if is_api(request):
        body = {"error": "too_large", "detail": message, "audit_record": str(record_id)}
        return JsonResponse(body, status=413)
    return render(request, "error.html", {"title": "Too large", "message": message}, status=413)


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"error": "invalid_request", "detail": message}, status=400)
    context = {"title": "Bad request", "message": message}
    return render(request, "error.html", context, status=400)


def unavailable(request: HttpRequest, message: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"error": "audit_unavailable", "detail": message}, status=503)
    return render(request, "error.html", {"title": "Unavailable", "message": message}, status=503)


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _message(exception: Exception | None) -> str:
    """The exception's own text, when it has one (``Http404("no cluster 'x'")``)."""
    if isinstance(exception, Refused):
        return exception.message
    args = getattr(exception, "args", ())
    return args[0] if args and isinstance(args[0], str) else ""


def _not_found_message(request: HttpRequest, exception: Exception | None) -> str:
    # A Resolver404 carries the URL patterns tried: never shown.
    message = "" if isinstance(exception, Resolver404) else _message(exception)
    return message or f"There is no page at {request.path}."


def _needed(exception: Exception | None) -> dict[str, str]:
    """The action and resource a refused page needed, when the refusal says."""
    if not isinstance(exception, Refused):
        return {}
    return {"action": exception.action or "", "resource": "/".join(exception.resource)}
