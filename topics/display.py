"""How message bytes are shown: pretty JSON or UTF-8 text when they are, otherwise hex.

The result is plain text for templates (autoescaped, never marked safe) and the API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lib import jsontext
from topics.kafka import Message

SHOW_MAX_CHARS = 64 * 1024  # longer values are cut on screen (the API says so too)
# Control characters other than tab and line breaks mean binary data, not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def render_bytes(
    data: bytes | None,
    *,
    masked: bool = False,
    indented: str | None = None,
    cut: int | None = SHOW_MAX_CHARS,
) -> dict:
    """``{"format": "null"|"json"|"text"|"hex", "text": str, "size": int, "truncated": bool}``.

    ``masked``: a data policy covered these bytes; they are shown as JSON or text only,
    never as hex (which would spell out what a text rendering replaces). ``indented``:
    the masking already wrote them out as indented JSON. ``cut``: at most this many
    characters (None: all of it, for the full view and downloads).
    """
    if data is None:
        return {"format": "null", "text": "", "size": 0, "truncated": False}
    if indented is not None:
        return _cut("json", indented, len(data), cut)
    try:
        text = data.decode("utf-8", "replace" if masked else "strict")
    except UnicodeDecodeError:
        return _cut("hex", data.hex(" "), len(data), cut)
    if _CONTROL.search(text) and not masked:
        return _cut("hex", data.hex(" "), len(data), cut)
    if text.lstrip()[:1] not in ("{", "["):  # only objects and lists are shown as JSON
        return _cut("text", text, len(data), cut)
    try:
        value, native = jsontext.parse(text)
    except (ValueError, RecursionError):
        return _cut("text", text, len(data), cut)
    return _cut("json", jsontext.pretty(value, native), len(data), cut)


def _cut(fmt: str, text: str, size: int, cut: int | None = SHOW_MAX_CHARS) -> dict:
    truncated = cut is not None and len(text) > cut
    return {
        "format": fmt,
        "text": text[:cut] if truncated else text,
        "size": size,
        "truncated": truncated,
    }


def render_message(
    message: Message,
    covered: frozenset[str] = frozenset(),
    indented: dict | None = None,
    *,
    cut: int | None = SHOW_MAX_CHARS,
) -> dict:
    """A message for pages and the API; ``covered`` names the parts a data policy masked
    ("key", "value", "header:<index>"), ``indented`` those the masking wrote out as JSON."""
    indented = indented or {}
    return {
        "partition": message.partition,
        "offset": message.offset,
        "timestamp": message.timestamp,
        "time": _iso(message.timestamp),
        "key": render_bytes(
            message.key, masked="key" in covered, indented=indented.get("key"), cut=cut
        ),
        "value": render_bytes(
            message.value, masked="value" in covered, indented=indented.get("value"), cut=cut
        ),
        "headers": [
            {"name": name, "value": render_bytes(data, masked=f"header:{i}" in covered, cut=cut)}
            for i, (name, data) in enumerate(message.headers)
        ],
    }


def _iso(ms: int) -> str | None:
    if ms is None or ms < 0:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
