"""Error types shared by every app.

``OperationError`` is anything an operation answers instead of a result: a code
(``topic_exists``), an HTTP status and a message for the user. ``InputError`` and its
kinds are refused input, told apart from what a cluster refuses.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied


class OperationError(Exception):
    """An operation failed in a way the user should be told about.

    ``code`` is a short machine-readable name (``topic_exists``); ``status`` the HTTP
    status an API answers with.
    """

    code = "operation_failed"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class InputError(OperationError):
    """The request itself is wrong: nothing was attempted."""

    code = "invalid_request"
    status = 400


class InvalidRequest(InputError):
    code = "invalid_request"
    status = 400


class InvalidConfig(InputError):
    code = "invalid_config"
    status = 400


class TooLarge(InputError):
    code = "too_large"
    status = 413


class Refused(PermissionDenied):
    """A page refused: which action on which resource it needed (shown on the 403 page)."""

    def __init__(
        self, message: str, *, action: str | None = None, resource: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.resource = list(resource)
