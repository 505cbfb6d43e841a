"""Building audit documents: the record shape, redaction of secrets, payload digests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

REDACTED = "[redacted]"

_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api[_-]?key|credential|private[_-]?key|"
    r"^sasl\.jaas\.config$|^ssl\..*\.password$|authorization|cookie)",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


@dataclass(frozen=True)
class Payload:
    """Message bytes in a request; stored as size + sha256 unless full capture is on."""

    data: bytes | None

    def as_record(self) -> dict | str | None:
        if self.data is None:
            return None
        if settings.FLEX_AUDIT_CAPTURE_PAYLOADS == "full":
            try:
                return self.data.decode("utf-8")
            except UnicodeDecodeError:
                return {"hex": self.data.hex()}
        return {"size": len(self.data), "sha256": hashlib.sha256(self.data).hexdigest()}


def redact(value: object, sensitive: Iterable[str] = ()) -> object:
    """A JSON-ready copy of ``value`` with every secret replaced by ``"[redacted]"``.

    ``sensitive`` adds key names the cluster reports as sensitive configs.
    """
    extra = frozenset(sensitive)
    return _redact(value, extra)


def _redact(value: object, extra: frozenset[str]) -> object:
    if isinstance(value, Payload):
        return value.as_record()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            key = str(key)
            if (is_secret_key(key) or key in extra) and item is not None:
                out[key] = REDACTED
            else:
                out[key] = _redact(item, extra)
        return out
    if isinstance(value, list | tuple):
        return [_redact(item, extra) for item in value]
    if isinstance(value, bytes):
        return Payload(value).as_record()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
