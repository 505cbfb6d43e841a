"""Response headers every Flex answer carries (README "Deploying").

- ``Content-Security-Policy``: scripts, styles, fonts and images from Flex itself only,
  nothing inline, no plugins, never framed. Flex pages have no inline script or style.
- ``Permissions-Policy``: no camera, microphone, location, payment, USB or sensors.
- ``Cache-Control: no-store`` on what must not linger in a browser or proxy cache: the audit
  pages and their exports, and every API answer.

HSTS, ``X-Content-Type-Options`` and ``Referrer-Policy`` come from Django's
``SecurityMiddleware`` (``FLEX_HSTS_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "accelerometer",
        "gyroscope",
        "magnetometer",
        "interest-cohort",
    )
)
NO_STORE_PREFIXES = (
    "/api/",
    "/metrics",
    "/settings/audit-log/",
    "/settings/user-log/",
    "/settings/tokens/",
)


class HeadersMiddleware:
    """Adds the headers above to every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if request.path_info.startswith(NO_STORE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response
