"""The bytes Flex publishes for a record, known before the record is stored.

Sinks publish a record's document as PostgreSQL's text form of its ``jsonb`` value
(``document::text``: keys ordered shorter first, then bytewise; ``", "`` and ``": "``
between items; strings escaped as PostgreSQL's ``escape_json`` does). ``jsonb_text``
writes that same text from the document in Python, so the gate signs a record as it
writes it — off the delivery path — and the topic sink publishes the stored signature.
The sink checks each text it reads against the digest signed (``signed_sha256``) and signs
again whenever they differ (another database's JSON text, a value this module does not
write as PostgreSQL does): what it publishes is always signed over the bytes it sends.
"""

from __future__ import annotations

import json
from decimal import Decimal

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_ESCAPES["\t"] = "\\t"
_TABLE = {i: f"\\u{i:04x}" for i in range(0x20)} | {ord(k): v for k, v in _ESCAPES.items()}


class NotWritable(ValueError):
    """A value ``jsonb_text`` cannot write as PostgreSQL would."""


def _string(text: str) -> str:
    return '"' + text.translate(_TABLE) + '"'


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise NotWritable("jsonb holds no NaN or infinity")
    # jsonb keeps the digits Django sent (Python's repr) as a numeric, written without
    # an exponent: 1e-07 reads back as 0.0000001.
    return format(Decimal(repr(value)), "f")


def _key(key: object) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool) or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, int | float):
        return repr(key)
    raise NotWritable(f"a key of type {type(key).__name__}")


def jsonb_text(value: object) -> str:
    """``value`` as PostgreSQL writes it back as text once stored as jsonb.

    Python's C JSON encoder escapes strings as PostgreSQL does (``ensure_ascii`` off):
    with the keys put in jsonb's order it writes the text, unless a float would need
    jsonb's exponent-free form; then the text is written here, value by value.
    """
    try:
        return json.dumps(_ordered(value), ensure_ascii=False, separators=(", ", ": "))
    except _Exponent:
        return _text(value)


class _Exponent(Exception):
    """A float Python writes with an exponent (1e-07), which jsonb writes without."""


def _jsonb_order(key: str) -> tuple[int, bytes]:
    """jsonb's key order: shorter first, then bytewise."""
    data = key.encode()
    return len(data), data


def _ordered(value: object) -> object:
    """``value`` with every object's keys in jsonb's order; _Exponent where it cannot be."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool:  # most of a record
        return value
    if kind is dict:
        items = {k if type(k) is str else _key(k): v for k, v in value.items()}
        return {k: _ordered(items[k]) for k in sorted(items, key=_jsonb_order)}
    if isinstance(value, dict):
        items = {_key(k): v for k, v in value.items()}
        return {k: _ordered(items[k]) for k in sorted(items, key=_jsonb_order)}
    if isinstance(value, list | tuple):
        return [_ordered(item) for item in value]
    if isinstance(value, float) and not isinstance(value, bool):
        text = _number(value)
        if text != repr(value):
            raise _Exponent
    elif not (value is None or isinstance(value, str | int)):
        raise NotWritable(f"a value of type {type(value).__name__}")
    return value


def _text(value: object) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    if isinstance(value, dict):
        items = {_key(k): v for k, v in value.items()}
        ordered = sorted(items, key=_jsonb_order)
        return "{" + ", ".join(f"{_string(k)}: {_text(items[k])}" for k in ordered) + "}"
    raise NotWritable(f"a value of type {type(value).__name__}")
