"""Each redaction's exact output (the console's two examples, and Flex's documented rest)."""

from __future__ import annotations

import hashlib

import pytest

from datapolicy.redactions import FULL, REDACTIONS


@pytest.mark.parametrize(
    ("redaction", "clear", "masked"),
    [
        ("ShowLast4", "John Smith", "******mith"),
        ("ShowEmailHost", "johnsmith@corp.org", "*********@corp.org"),
        ("ShowEmailPart", "johnsmith@corp.org", "johnsmith@********"),
        ("Full", "John Smith", "********"),
        ("Full", "x", "********"),
        ("ShowFirst", "John Smith", "J*********"),
        ("ShowFirst2", "John Smith", "Jo********"),
        ("ShowFirst4", "John Smith", "John******"),
        ("ShowFirst6", "John Smith", "John S****"),
        ("ShowLast", "John Smith", "*********h"),
        ("ShowLast2", "John Smith", "********th"),
        ("ShowLast6", "John Smith", "**** Smith"),
        ("ShowLast4", "4111111111111111", "************1111"),
    ],
)
def test_it_redacts_exactly(redaction: str, clear: str, masked: str):
    assert REDACTIONS[redaction](clear) == masked


def test_it_hashes_the_utf8_value_with_sha512():
    assert REDACTIONS["SHAHash"]("Jöhn") == hashlib.sha512("Jöhn".encode()).hexdigest()


@pytest.mark.parametrize("redaction", ["ShowFirst4", "ShowLast4", "ShowLast6"])
def test_it_never_shows_a_whole_short_value(redaction: str):
    assert REDACTIONS[redaction]("1234") == FULL


@pytest.mark.parametrize("redaction", ["ShowEmailHost", "ShowEmailPart"])
def test_it_falls_back_to_full_when_the_value_is_not_an_email(redaction: str):
    assert REDACTIONS[redaction]("no at sign") == FULL
