"""Building audit documents: redaction of secrets, payload digests, JSON-safe values."""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

REDACTED = "[redacted]"
TOO_DEEP = "[too deep]"
MAX_DEPTH = 64  # nesting kept in a document; deeper subtrees become TOO_DEEP

_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api[_-]?key|credential|private[_-]?key|"
    r"^sasl\.jaas\.config$|^ssl\..*\.password$|^ssl\.keystore\.key$|user\.info$|"
    r"authorization|cookie)",
    re.IGNORECASE,
)
# A config given as a list of {"name": ..., "value": ...} pairs: the name says whether
# the value is a secret.
_NAME_KEYS = ("name", "key", "config", "config-name")


@functools.lru_cache(maxsize=4096)
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
                return clean_text(self.data.decode("utf-8"))
            except UnicodeDecodeError:
                return {"hex": self.data.hex()}
        return {"size": len(self.data), "sha256": hashlib.sha256(self.data).hexdigest()}


def redact(value: object, sensitive: Iterable[str] = (), found: set[str] | None = None) -> object:
    """A JSON-ready copy of ``value`` with every secret replaced by ``"[redacted]"``.

    ``sensitive`` adds key names the cluster reports as sensitive configs. Values
    PostgreSQL's jsonb cannot hold (NUL characters, lone surrogates, NaN) are replaced.
    The secrets removed are added to ``found`` (see ``scrub``). Containers nested deeper
    than ``MAX_DEPTH`` are replaced by ``"[too deep]"``: any input redacts, none
    overflows the stack.
    """
    rules = _Rules(frozenset(sensitive), found if found is not None else set())
    return _redact(value, rules, 0)


def scrub(text: str | None, secrets: Iterable[str]) -> str | None:
    """``text`` (an error message) with any of ``secrets`` in it replaced by ``[redacted]``."""
    if not text:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True)
class _Rules:
    extra: frozenset[str]
    found: set[str]


def _secret(key: str, extra: frozenset[str]) -> bool:
    return key in extra or is_secret_key(key)


def _redact(value: object, rules: _Rules, depth: int) -> object:
    kind = type(value)  # exact types first: this runs for every value of every record
    if kind is str:
        return value if value.isascii() and "\x00" not in value else clean_text(value)
    if kind is dict:
        return _redact_dict(value, rules, depth)
    if kind is list or kind is tuple:
        return _redact_list(value, rules, depth)
    if value is None or kind is int or kind is bool:
        return value
    if kind is float:
        return _number(value)
    return _redact_other(value, rules, depth)


def _redact_list(value: list | tuple, rules: _Rules, depth: int) -> object:
    if depth >= MAX_DEPTH:
        return _too_deep(value, rules)
    return [_redact(item, rules, depth + 1) for item in value]


def _too_deep(value: object, rules: _Rules) -> str:
    """The marker for a subtree nested too deep to keep. Its secrets are collected all the
    same (iteratively), so an error message quoting one is still scrubbed."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            named_secret = "value" in value and _names_secret(value, rules.extra)
            for key, item in value.items():
                if isinstance(key, str) and (
                    _secret(key, rules.extra) or (named_secret and key == "value")
                ):
                    _collect(item, rules.found)
                else:
                    stack.append(item)
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return TOO_DEEP


def _number(value: float) -> object:
    """Whole floats become ints (as jsonb gives them back); NaN and infinities, text."""
    if not math.isfinite(value):
        return str(value)
    return int(value) if value.is_integer() else value


def _redact_other(value: object, rules: _Rules, depth: int) -> object:
    if isinstance(value, Payload):
        return value.as_record()
    if isinstance(value, bytes):
        return Payload(value).as_record()
    if isinstance(value, str):
        return clean_text(str(value))
    if isinstance(value, bool | int):
        return bool(value) if isinstance(value, bool) else int(value)
    if isinstance(value, float):
        return _number(float(value))
    if isinstance(value, dict):
        return _redact_dict(dict(value), rules, depth)
    if isinstance(value, list | tuple):
        return _redact_list(value, rules, depth)
    return clean_text(str(value))


def _redact_dict(value: dict, rules: _Rules, depth: int) -> dict | str:
    if depth >= MAX_DEPTH:
        return _too_deep(value, rules)
    named_secret = "value" in value and _names_secret(value, rules.extra)
    out = {}
    for key, item in value.items():
        if type(key) is not str or not key.isascii() or "\x00" in key:
            key = clean_text(str(key))
        if item is not None and (_secret(key, rules.extra) or (named_secret and key == "value")):
            out[key] = REDACTED
            _collect(item, rules.found)
        else:
            out[key] = _redact(item, rules, depth + 1)
    return out


def _names_secret(value: dict, extra: frozenset[str]) -> bool:
    """Whether a {"name": ..., "value": ...} pair names a secret config."""
    for name_key in _NAME_KEYS:
        name = value.get(name_key)
        if isinstance(name, str):
            return _secret(name, extra)
    return False


def _collect(value: object, found: set[str]) -> None:
    """Every scalar under a redacted key: iterative, so any nesting is walked."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            found.add(str(value))
        elif isinstance(value, bytes):
            found.add(value.decode("utf-8", "replace"))
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)


def clean_text(text: str) -> str:
    """``text`` without what jsonb refuses: NUL characters and lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text
