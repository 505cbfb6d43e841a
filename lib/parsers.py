"""The API's JSON parser: DRF's, with bodies nested too deeply refused as a parse error."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 64  # no Flex request nests anywhere near this


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects nest deeper than ``limit`` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """A body nested past ``MAX_DEPTH`` (or past Python's own recursion limit, which DRF
    lets through as a RecursionError) is a clear 400 that the endpoint records, not an
    unexpected error."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        else:
            if not depth_exceeds(data):
                return data
        raise ParseError(f"JSON parse error - the body is nested more than {MAX_DEPTH} levels deep")
