"""The one HTTP helper: POST bytes, get the answer back, whatever its status.

Sinks classify answers themselves (a 404 is permanent, a 429 retryable), so an HTTP error
status is an answer here, not an exception. Only a request that got no answer at all
(refused, timed out, DNS) raises ``Unreachable``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import NamedTuple


class Unreachable(Exception):
    """No answer: the connection was refused, timed out or the name did not resolve."""


class Answer(NamedTuple):
    status: int
    body: str
    headers: dict[str, str]


def post(url: str, data: bytes, *, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``data`` to ``url`` (http or https, checked by the caller's settings)."""
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(response.status, _text(response.read()), dict(response.headers))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, _text(exc.read()), dict(exc.headers or {}))
    except Exception as exc:  # timeouts, refused connections, DNS, TLS
        raise Unreachable(describe(exc)) from exc


def describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # URLError wraps the socket error
    text = str(reason or exc) or type(exc).__name__
    return text[:300]


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")
