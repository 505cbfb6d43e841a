"""What every input check of the topic pages and the API is made of: a ``Checked`` result,
problems gathered per field, text as the record shows it, whole numbers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from lib.errors import InputError, InvalidConfig, InvalidRequest, TooLarge

T = TypeVar("T")
# The most specific kind of problem names the error.
_KINDS: tuple[type[InputError], ...] = (TooLarge, InvalidConfig, InvalidRequest)


@dataclass
class Checked(Generic[T]):
    """The outcome of a check: ``value`` when valid, else ``error`` (with ``fields``)."""

    value: T | None
    error: InputError | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)


class Problems:
    """Problems gathered per field (``""`` for the input as a whole), each with its kind."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.kinds: set[type[InputError]] = set()

    def add(self, name: str, message: str, kind: type[InputError] = InvalidRequest) -> None:
        self.fields.setdefault(name, []).append(message)
        self.kinds.add(kind)

    def result(self, build: Any) -> Checked:
        if not self.fields:
            return Checked(build())
        kind = next(k for k in _KINDS if k in self.kinds)
        parts = [
            " ".join(messages) if not name else f"{name}: {' '.join(messages)}"
            for name, messages in self.fields.items()
        ]
        return Checked(None, kind("; ".join(parts)), self.fields)


def text(value: object) -> str | None:
    """A value as the audit record shows what was given: text, or None when absent."""
    return None if value is None or value == "" else str(value)


def integer(
    problems: Problems, data: Mapping, name: str, *, default: int | None, low: int, high=None
) -> int | None:
    """A whole number. A field with a default takes it when absent, but an empty or null one
    is refused; an optional field (no default) may be absent, empty or null."""
    if name not in data and default is not None:
        return default
    value = data.get(name)
    if value is None or value == "":
        if default is not None:
            problems.add(name, "this field is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems.add(name, "must be a whole number")
        return None
    try:
        number = int(value)
    except ValueError:
        problems.add(name, "must be a whole number")
        return None
    if number < low:
        problems.add(name, f"must be at least {low}")
    elif high is not None and number > high:
        problems.add(name, f"must be at most {high}")
    return number
