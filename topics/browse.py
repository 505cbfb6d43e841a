"""The message browser: pages of a topic's messages, both ways, filtered on the server.

A page is a scan from a boundary per partition (offsets below it when going to older
messages, from it on when going to newer ones), merging the partitions by time. Each
message scanned is masked by the data policies first, then filtered: a filter only ever
sees what the reader may see, so it never matches behind a mask. A scan stops at ``limit``
matches, at the scan budget (``FLEX_READ_SCAN_MAX`` messages), at the time bound or the
byte bound; the answer says how many it ``scanned`` and ``matched`` and whether it stopped
``partial``. Its cursors are the boundaries where it ended and where it began, so the next
page continues exactly and the previous one goes back the other way.

Field filters use JMESPath (``jmespath``, the reference implementation of a specified
language, pure Python, no dependencies): an expression has no loops and no recursion of
its own, so its cost is bounded by its length times the message's size — unlike jq,
whose programs may run forever inside a C extension that cannot be interrupted.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jmespath
from django.conf import settings
from django.core import signing
from jmespath import exceptions as jmespath_errors
from jmespath.lexer import Lexer

from datapolicy.masking import plan_for
from lib import jsontext
from lib.errors import InvalidRequest
from lib.runtime import without_gc
from topics import kafka
from topics.masking import MaskedRead, ShownMessage, shown_message
from topics.models import Cluster

OLDER, NEWER = "older", "newer"
EXPRESSION_MAX_CHARS = 300
FIELD_VALUE_MAX_BYTES = 1024 * 1024  # larger keys or values are not parsed for a field filter
CHUNK_MIN = 100  # messages fetched from a partition at a time, at least
CHUNK_MAX = 5_000  # a scan fetches chunks twice as large each time, up to this
_CURSOR_SALT = "flex.topics.cursor"


@dataclass(frozen=True)
class Cursor:
    """Where a page continues: a boundary per partition, and which way from it."""

    direction: str  # OLDER: offsets below the boundary; NEWER: from the boundary on
    positions: dict[int, int]


def cursor_text(cursor: Cursor | None, *, cluster_id: str, topic: str) -> str | None:
    """A cursor as the API and the page carry it: opaque, signed, for this topic only."""
    if cursor is None:
        return None
    payload = {"c": cluster_id, "t": topic, "d": cursor.direction, "p": cursor.positions}
    return signing.dumps(payload, salt=_CURSOR_SALT, compress=True)


def cursor_from(text: str, *, cluster_id: str, topic: str) -> Cursor:
    """The cursor a page or the API was given; InvalidRequest if Flex did not make it for
    this topic (garbled, forged, or another topic's)."""
    try:
        payload = signing.loads(text, salt=_CURSOR_SALT)
    except (signing.BadSignature, ValueError, UnicodeError):
        raise InvalidRequest(
            "cursor: not a cursor of this read; start from the first page"
        ) from None
    ok = (
        isinstance(payload, dict)
        and payload.get("c") == cluster_id
        and payload.get("t") == topic
        and payload.get("d") in (OLDER, NEWER)
        and isinstance(payload.get("p"), dict)
    )
    if not ok:
        raise InvalidRequest("cursor: made for another topic or cluster")
    try:
        positions = {int(p): int(o) for p, o in payload["p"].items()}
    except (TypeError, ValueError):
        raise InvalidRequest("cursor: not a cursor of this read") from None
    return Cursor(payload["d"], positions)


@dataclass(frozen=True)
class Filters:
    """What a message must hold to be shown; all given must match."""

    q: bytes | None = None  # in the key or the value, any case (ASCII)
    key: bytes | None = None  # the key, exactly
    header: tuple[str, bytes | None] | None = None  # a header by name, and value if given
    expression: str | None = None  # JMESPath, true for the message
    compiled: object = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.q, self.key, self.header, self.expression))

    def given(self) -> dict:
        """The filters as the audit record keeps them."""
        header = None
        if self.header is not None:
            name, value = self.header
            header = name if value is None else f"{name}={value.decode()}"
        return {
            "q": _text(self.q),
            "key": _text(self.key),
            "header": header,
            "expression": self.expression,
        }

    def match(self, message: kafka.Message) -> bool:
        if self.key is not None and message.key != self.key:
            return False
        if self.q is not None and not any(
            self.q in part.lower() for part in (message.key, message.value) if part is not None
        ):
            return False
        if self.header is not None and not _has_header(message, *self.header):
            return False
        return self.compiled is None or _true(self.compiled.search(_fields(message)))


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "replace")


def _has_header(message: kafka.Message, name: str, value: bytes | None) -> bool:
    return any(n == name and (value is None or v == value) for n, v in message.headers)


def _true(result: object) -> bool:
    """JMESPath's truth: false, null, empty strings, lists and objects are false."""
    return result not in (None, False, "", [], {})


def _fields(message: kafka.Message) -> dict:
    """What an expression sees: key and value as JSON when they are, else text."""
    return {
        "key": _field(message.key),
        "value": _field(message.value),
        "headers": {name: _text(value) for name, value in message.headers},
        "partition": message.partition,
        "offset": message.offset,
        "timestamp": message.timestamp,
    }


def _field(data: bytes | None) -> object:
    """JSON as its value, other bytes as text; too large to parse: null (never matches)."""
    if data is None or len(data) > FIELD_VALUE_MAX_BYTES:
        return None
    try:
        return jsontext.parse(data)[0]
    except (ValueError, RecursionError):
        return data.decode("utf-8", "replace")


def compile_expression(text: str) -> object:
    """A JMESPath expression, or InvalidRequest saying what is wrong with it. As in jq, a
    double-quoted operand of a comparison is text: ``value.id == "42"`` (see
    ``_quoted_operands_as_text``)."""
    if len(text) > EXPRESSION_MAX_CHARS:
        raise InvalidRequest(f"expr: at most {EXPRESSION_MAX_CHARS} characters")
    try:
        tokens = list(Lexer().tokenize(text))
    except jmespath_errors.JMESPathError as exc:
        raise InvalidRequest(f"expr: {_first_line(exc)}") from None
    try:
        return jmespath.compile(_quoted_operands_as_text(text, tokens))
    except jmespath_errors.JMESPathError as exc:
        raise InvalidRequest(f"expr: {_first_line(exc)}") from None


COMPARATORS = {"eq", "ne", "lt", "lte", "gt", "gte"}
_GOES_ON = {"dot", "lbracket", "filter", "flatten"}  # after a word that starts a path


def _quoted_operands_as_text(text: str, tokens: list[dict]) -> str:
    """``text`` with each double-quoted word right of a comparison written as a JMESPath
    literal (``value.id == `"42"```). In JMESPath ``"42"`` names a field, so
    ``value.id == "42"`` would compare with a field called 42 and never match; jq, whose
    style the filter promises, reads it as text. A quoted field name in a path
    (``value."first name" == 'x'``, ``a == "b".c``) is left as it is."""
    spans = []
    for index, token in enumerate(tokens):
        if token["type"] != "quoted_identifier":
            continue
        before = tokens[index - 1]["type"] if index else None
        after = tokens[index + 1]["type"]  # the lexer ends with an eof token
        if before in COMPARATORS and after not in _GOES_ON:
            spans.append((token["start"], _closing_quote(text, token["start"]), token["value"]))
    for start, end, value in reversed(spans):  # a JSON literal holds any text exactly
        literal = json.dumps(value, ensure_ascii=False).replace("`", "\\`")
        text = f"{text[:start]}`{literal}`{text[end:]}"
    return text


def _closing_quote(text: str, start: int) -> int:
    """Just past the ``"`` closing the quoted identifier opening at ``start`` (the lexer's
    own ``end`` of a quoted identifier is its length, not a position)."""
    at = start + 1
    while text[at] != '"':
        at += 2 if text[at] == "\\" else 1
    return at + 1


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0]


@dataclass(frozen=True)
class BrowseQuery:
    """A page to read: where to start (a mode, or a cursor), how many, which ones."""

    mode: str = "latest"  # latest | offset | timestamp
    limit: int = 50
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None
    filters: Filters = Filters()
    cursor: str | None = None  # as given; checked against the topic when the read runs
    full: bool = False  # one message's whole value (the full view and its download)

    @property
    def newest_first(self) -> bool:
        return self.mode == "latest"


@dataclass
class BrowsePage:
    """One page: its messages in the order shown, what the scan did, and where to go on."""

    read: MaskedRead
    scanned: int
    matched: int
    next: Cursor | None
    previous: Cursor | None
    newest_first: bool

    @property
    def order(self) -> str:
        return "newest first" if self.newest_first else "oldest first"


def browse_page(
    cluster: Cluster,
    name: str,
    query: BrowseQuery,
    *,
    cluster_id: str,
    roles: Sequence[str],
) -> BrowsePage:
    """Read one page of ``name`` for a reader holding ``roles``, masked, filtered."""
    plan = plan_for(cluster_id=cluster_id, topic=name, roles=roles)
    with kafka.message_source(
        cluster, name, partition=query.partition, timestamp_ms=query.timestamp_ms
    ) as source:
        start = _start(source, query, cluster_id=cluster_id, topic=name)
        scan = _Scan(source, start, lambda m: shown_message(plan, m), query.filters)
        with without_gc():  # masking a page allocates a burst of objects that all live on
            scan.run(query.limit, settings.FLEX_READ_SCAN_MAX)
    shown = scan.matched
    if (start.direction == OLDER) != query.newest_first:
        shown = shown[::-1]
    onward = scan.onward()
    back = scan.back()
    older, newer = (onward, back) if start.direction == OLDER else (back, onward)
    next_cursor, previous = (older, newer) if query.newest_first else (newer, older)
    read = MaskedRead(shown, scan.partial, plan.applied(), plan.saw_unmasked)
    return BrowsePage(read, scan.scanned, len(shown), next_cursor, previous, query.newest_first)


def _start(
    source: kafka.MessageSource, query: BrowseQuery, *, cluster_id: str, topic: str
) -> Cursor:
    bounds = source.bounds
    if query.cursor:
        cursor = cursor_from(query.cursor, cluster_id=cluster_id, topic=topic)
        if set(cursor.positions) != set(bounds):
            raise InvalidRequest("cursor: its partitions are not this read's; start again")
        clipped = {p: min(max(o, bounds[p][0]), bounds[p][1]) for p, o in cursor.positions.items()}
        return Cursor(cursor.direction, clipped)
    if query.mode == "latest":
        return Cursor(OLDER, {p: latest for p, (_earliest, latest) in bounds.items()})
    if query.mode == "timestamp":
        return Cursor(NEWER, dict(source.starts))
    offset = query.offset or 0
    return Cursor(NEWER, {p: min(max(offset, lo), hi) for p, (lo, hi) in bounds.items()})


class _Scan:
    """Partitions merged by time, in one direction from the start, chunk by chunk."""

    def __init__(
        self,
        source: kafka.MessageSource,
        start: Cursor,
        mask: Callable[[kafka.Message], ShownMessage],
        filters: Filters,
    ) -> None:
        self.source = source
        self.start = start
        self.older = start.direction == OLDER
        self.position = dict(start.positions)
        self.buffers: dict[int, deque[kafka.Message]] = {p: deque() for p in start.positions}
        self.chunk_ends: dict[int, int] = {}
        self.mask = mask
        self.filters = filters
        self.matched: list[ShownMessage] = []
        self.scanned = 0
        self.partial = False

    def _left(self, partition: int) -> bool:
        earliest, latest = self.source.bounds[partition]
        position = self.position[partition]
        return position > earliest if self.older else position < latest

    def _refill(self, partitions: list[int], size: int) -> bool:
        """Fetch the next chunk of each; False when the time or byte bound cut one short."""
        ranges = {}
        for p in partitions:
            earliest, latest = self.source.bounds[p]
            at = self.position[p]
            ranges[p] = (
                (max(earliest, at - size), at) if self.older else (at, min(latest, at + size))
            )
        for p, found in self.source.fetch(ranges).items():
            if found is None:
                return False
            self.buffers[p] = deque(reversed(found) if self.older else found)
            self.chunk_ends[p] = ranges[p][0] if self.older else ranges[p][1]
        return True

    def run(self, limit: int, budget: int) -> None:
        """Scan until ``limit`` match or ``budget`` messages were scanned. A filter that
        matches rarely reads on in chunks that double (each fetch is a round trip); a chunk
        over the byte bound is fetched again in halves, so large messages still progress."""
        size = max(CHUNK_MIN, limit)
        while len(self.matched) < limit:
            empty = [p for p, b in self.buffers.items() if not b and self._left(p)]
            if empty:
                wanted = min(size, max(budget - self.scanned, 1))
                while not self._refill(empty, wanted):
                    if self.source.expired or wanted == 1:
                        self.partial = True
                        return
                    wanted //= 2
                    empty = [p for p in empty if not self.buffers[p]]
                size = min(wanted * 2, CHUNK_MAX)
            heads = [p for p, b in self.buffers.items() if b]
            if not heads:
                return
            if self.scanned >= budget or self.source.expired:
                self.partial = True
                return
            pick = max if self.older else min
            partition = pick(heads, key=lambda p: _order(self.buffers[p][0]))
            message = self.buffers[partition].popleft()
            self._passed(partition, message)
            self.scanned += 1
            shown = self.mask(message)
            if not self.filters.active or self.filters.match(shown.message):
                self.matched.append(shown)

    def _passed(self, partition: int, message: kafka.Message) -> None:
        """Move the partition's boundary past ``message`` (past the whole chunk once it is
        drained, so gaps — compacted or transaction markers — are not read again)."""
        if not self.buffers[partition]:
            self.position[partition] = self.chunk_ends[partition]
        else:
            self.position[partition] = message.offset if self.older else message.offset + 1

    def onward(self) -> Cursor | None:
        """Where a page the same way continues; None when nothing is left that way."""
        if not any(self._left(p) or self.buffers[p] for p in self.position):
            return None
        return Cursor(self.start.direction, dict(self.position))

    def back(self) -> Cursor | None:
        """The page the other way from where this one began; None when there is none."""
        bounds = self.source.bounds
        if self.older:
            behind = any(o < bounds[p][1] for p, o in self.start.positions.items())
        else:
            behind = any(o > bounds[p][0] for p, o in self.start.positions.items())
        if not behind:
            return None
        return Cursor(NEWER if self.older else OLDER, dict(self.start.positions))


def _order(message: kafka.Message) -> tuple[int, int, int]:
    return (message.timestamp, message.partition, message.offset)
