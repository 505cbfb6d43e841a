"""The console's redactions, as functions of the clear text.

Mask characters are ``*``, one per hidden character, except ``Full``: always ``********``
(eight), so it hides the length too. A redaction that cannot apply (an e-mail redaction
of text without ``@``) falls back to ``Full``; so does a ``Show…`` redaction of text no
longer than what it would show, which would otherwise reveal all of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

MASK = "*"
FULL = MASK * 8


def full(text: str) -> str:
    return FULL


def sha_hash(text: str) -> str:
    return hashlib.sha512(text.encode("utf-8", "surrogatepass")).hexdigest()


def _show_first(count: int) -> Callable[[str], str]:
    def redact(text: str) -> str:
        if len(text) <= count:
            return FULL
        return text[:count] + MASK * (len(text) - count)

    return redact


def _show_last(count: int) -> Callable[[str], str]:
    def redact(text: str) -> str:
        if len(text) <= count:
            return FULL
        return MASK * (len(text) - count) + text[-count:]

    return redact


def show_email_host(text: str) -> str:
    local, at, host = text.rpartition("@")
    if not at or not local or not host:
        return FULL
    return MASK * len(local) + "@" + host


def show_email_part(text: str) -> str:
    local, at, host = text.rpartition("@")
    if not at or not local or not host:
        return FULL
    return local + "@" + MASK * len(host)


REDACTIONS: dict[str, Callable[[str], str]] = {
    "Full": full,
    "SHAHash": sha_hash,
    "ShowEmailHost": show_email_host,
    "ShowEmailPart": show_email_part,
    "ShowFirst": _show_first(1),
    "ShowFirst2": _show_first(2),
    "ShowFirst4": _show_first(4),
    "ShowFirst6": _show_first(6),
    "ShowLast": _show_last(1),
    "ShowLast2": _show_last(2),
    "ShowLast4": _show_last(4),
    "ShowLast6": _show_last(6),
}
