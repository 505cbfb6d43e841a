"""How message bytes are shown: the fast JSON path must show exactly what the bytes hold."""

from __future__ import annotations

import json

import pytest

from topics.display import render_bytes


def test_json_objects_are_shown_indented():
    shown = render_bytes(b'{"a": [1, {"b": "\xc3\xa9"}]}')
    assert shown["format"] == "json"
    assert shown["text"] == json.dumps({"a": [1, {"b": "é"}]}, indent=2, ensure_ascii=False)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": 123456789012345678901234567890}',  # beyond 64 bits: orjson would make a float
        b'{"id": -9223372036854775809}',
        b'{"ratio": NaN, "big": Infinity}',  # not JSON, but Python's reader takes it
        b'{"s": "\\ud800"}',  # a lone surrogate
    ],
)
def test_what_the_fast_parser_would_change_is_shown_as_the_standard_library_reads_it(raw):
    shown = render_bytes(raw)
    assert shown["format"] == "json"
    assert shown["text"] == json.dumps(json.loads(raw), indent=2, ensure_ascii=False)


def test_scalars_and_broken_json_are_text_and_binary_is_hex():
    assert render_bytes(b"42")["format"] == "text"
    assert render_bytes(b'{"a": ')["format"] == "text"
    assert render_bytes(b"[" * 100_000)["format"] == "text"  # too deep to parse: text
    assert render_bytes(b"\x00\x01")["format"] == "hex"
    assert render_bytes(None)["format"] == "null"
