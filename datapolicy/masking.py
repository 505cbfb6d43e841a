"""The masking engine: a reader's plan for one topic, applied to message bytes.

``plan_for(cluster_id, topic, roles)`` gathers the policies covering each part (key,
value, headers) of the topic's messages and, per policy, whether this reader masks or
sees clear (``unmask_roles``). ``Plan.mask`` returns the masked bytes of one message and
what was masked where; the raw bytes of a covered part never leave it.

- A ``scalar`` policy masks the whole part: text by its redaction; JSON objects and
  lists, and bytes that are not UTF-8, by ``Full``.
- A ``non-scalar`` policy masks the named fields of JSON objects and lists at any depth
  (inside lists and maps too); a field holding an object or list is ``Full``-redacted.
  A key or value that is not a JSON object or list has no fields Flex can find, so the
  whole part is ``Full``-redacted. For headers the names are the fields: a named
  header's value is masked whole, and header values that are JSON are masked inside.
- Per field (or part) the first masking policy in file order wins; a policy whose
  ``unmask_roles`` the reader holds masks nothing for them and is reported as seen clear.
- Topics under ``exclusions`` are never masked.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from datapolicy.models import DataPolicy, DataPolicySettings
from datapolicy.redactions import REDACTIONS, full
from datapolicy.validation import PARTS, SCALAR
from lib import jsontext
from rbac.index import holds, resource_covers

Headers = list[tuple[str, bytes | None]]


@dataclass(frozen=True)
class Rule:
    """One policy as it applies to this reader."""

    policy: str
    redact: Callable[[str], str]
    clear: bool  # the reader holds one of its unmask_roles


@dataclass
class PartPlan:
    scalar: Rule | None = None  # the first scalar policy that masks
    scalar_clear: Rule | None = None
    fields: dict[str, Rule] = field(default_factory=dict)  # field -> first masking policy
    clear_fields: dict[str, Rule] = field(default_factory=dict)

    @property
    def masks(self) -> bool:
        return self.scalar is not None or bool(self.fields)

    @property
    def empty(self) -> bool:
        return not (self.masks or self.scalar_clear or self.clear_fields)


class Mark(NamedTuple):
    """Where a policy masked, and how many times in one message: one mark per field, not per
    occurrence (``items[*].pan``, however many items there are)."""

    part: str  # key | value | headers
    path: str  # "" for the whole part; card.pan, items[*].pan, or a header's name
    policy: str
    count: int = 1

    def as_json(self) -> dict:
        return {"part": self.part, "path": self.path, "policy": self.policy, "count": self.count}


class Parsed(NamedTuple):
    """JSON as parsed (``native``: see ``lib.jsontext``)."""

    value: object
    native: bool


@dataclass(frozen=True)
class Masked:
    """One message as it may leave Flex, and which parts a policy covered (shown as text or
    JSON only, never hex)."""

    key: bytes | None
    value: bytes | None
    headers: Headers
    covered: frozenset[str]  # "key", "value", "header:<index>"
    marks: tuple[Mark, ...]
    # "key" | "value" -> the masked JSON written indented, where fields were masked: what
    # the pages show, so that they need not parse it again (nor keep it parsed meanwhile)
    indented: dict[str, str]


class Plan:
    """What to mask for one reader on one topic; counts what it did across messages."""

    def __init__(self, parts: dict[str, PartPlan], categories: dict[str, str]) -> None:
        self.parts = parts
        self.categories = categories
        self.masked: Counter[str] = Counter()
        self.clear: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        return any(not plan.empty for plan in self.parts.values())

    def mask(self, key: bytes | None, value: bytes | None, headers: Headers) -> Masked:
        marks: list[Mark] = []
        covered: set[str] = set()
        indented: dict[str, str] = {}
        key = self._part("key", key, marks, covered, indented)
        value = self._part("value", value, marks, covered, indented)
        headers = self._headers(headers, marks, covered)
        for mark in marks:
            self.masked[mark.policy] += mark.count
        return Masked(key, value, headers, frozenset(covered), tuple(marks), indented)

    def _part(
        self, part: str, data: bytes | None, marks: list, covered: set, indented: dict
    ) -> bytes | None:
        plan = self.parts[part]
        if data is None or plan.empty:
            return data
        masked = _mask_whole(plan, data, part, "", marks, self.clear, structure=False)
        if masked is data:
            return data
        covered.add(part)
        if isinstance(masked, Parsed):
            indented[part] = jsontext.pretty(masked.value, masked.native)
            return jsontext.compact(masked.value, masked.native)
        return masked

    def _headers(self, headers: Headers, marks: list, covered: set) -> Headers:
        plan = self.parts["headers"]
        if plan.empty or not headers:
            return headers
        out = []
        for index, (name, data) in enumerate(headers):
            masked = data
            if data is not None:
                masked = _mask_header(plan, name, data, marks, self.clear)
                if isinstance(masked, Parsed):
                    masked = jsontext.compact(masked.value, masked.native)
            if masked is not data:
                covered.add(f"header:{index}")
            out.append((name, masked))
        return out

    def applied(self) -> list[dict]:
        """The policies that matched something, for the audit record and the page."""
        names = list(dict.fromkeys([*self.masked, *self.clear]))
        return [
            {
                "name": name,
                "category": self.categories.get(name, ""),
                "masked": self.masked[name],
                "clear": self.clear[name],
            }
            for name in names
        ]

    @property
    def saw_unmasked(self) -> bool:
        return sum(self.clear.values()) > 0


def _decode(data: bytes) -> tuple[str | None, Parsed | None]:
    """(text or None for binary, the parsed JSON object or list, else None)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, None
    if text.lstrip()[:1] in ("{", "["):
        try:
            value, native = jsontext.parse(data)
        except (ValueError, RecursionError):
            return text, None
        if type(value) in _CONTAINERS:
            return text, Parsed(value, native)
    return text, None


def _scalar_text(text: str) -> str:
    """A JSON string's content; anything else as written."""
    if text[:1] == '"':
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        if isinstance(parsed, str):
            return parsed
    return text


def _mask_whole(
    plan: PartPlan, data: bytes, part: str, path: str, marks, clear, *, structure: bool
) -> bytes | Parsed:
    """A key, a value or a header value: scalar rules, else fields; ``data`` itself if
    nothing was masked, the masked JSON (``Parsed``) if fields were."""
    text, parsed = _decode(data)
    if plan.scalar is not None:
        marks.append(Mark(part, path, plan.scalar.policy))
        if text is None or parsed is not None:
            return full("").encode()
        return plan.scalar.redact(_scalar_text(text)).encode("utf-8", "surrogatepass")
    if plan.scalar_clear is not None:
        clear[plan.scalar_clear.policy] += 1
    if parsed is None:
        if plan.fields and not structure:
            rule = next(iter(plan.fields.values()))  # the first masking policy in file order
            marks.append(Mark(part, path, rule.policy))
            return full("").encode()
        if plan.clear_fields and not structure:
            clear[next(iter(plan.clear_fields.values())).policy] += 1
        return data
    walker = _Walker(plan, clear)
    try:
        walker.node(parsed.value, path)
    except RecursionError:  # nested deeper than the walk may go: hide it all
        marks.append(Mark(part, path, next(iter(plan.fields.values())).policy))
        return full("").encode()
    if not walker.found:
        return data
    marks.extend(
        Mark(part, where, policy, count) for where, (policy, count) in walker.found.items()
    )
    return parsed


def _mask_header(plan: PartPlan, name: str, data: bytes, marks, clear) -> bytes | Parsed:
    if plan.scalar is None:
        rule = plan.fields.get(name)
        if rule is not None:
            marks.append(Mark("headers", name, rule.policy))
            return _redact_bytes(rule, data)
        if name in plan.clear_fields:
            clear[plan.clear_fields[name].policy] += 1
    return _mask_whole(plan, data, "headers", name, marks, clear, structure=True)


def _redact_bytes(rule: Rule, data: bytes) -> bytes:
    text, parsed = _decode(data)
    if text is None or parsed is not None:
        return full("").encode()
    return rule.redact(_scalar_text(text)).encode("utf-8", "surrogatepass")


class _Walker:
    """Masks named fields at any depth, in place (the parsed value is the walk's own), and
    counts them by path (``found``: path -> [policy, count]).

    One loop per object, no call per key: a read walks every key of every message."""

    def __init__(self, plan: PartPlan, clear) -> None:
        self.fields, self.clear_fields, self.clear = plan.fields, plan.clear_fields, clear
        self.found: dict[str, list] = {}

    def node(self, node: object, path: str) -> None:
        if type(node) is dict:  # the parsers make exactly dicts and lists
            self._object(node, path)
        elif type(node) is list:
            inner = f"{path}[*]"
            for item in node:
                if type(item) in _CONTAINERS:
                    self.node(item, inner)

    def _object(self, node: dict, path: str) -> None:
        fields, clear_fields, found = self.fields, self.clear_fields, self.found
        for name, value in node.items():  # values are replaced, never keys: safe to iterate
            rule = fields.get(name)
            if rule is not None:
                node[name] = rule.redact(value) if type(value) is str else redact_leaf(rule, value)
                where = f"{path}.{name}" if path else name
                seen = found.get(where)
                if seen is None:
                    found[where] = [rule.policy, 1]
                else:
                    seen[1] += 1
                continue
            if clear_fields and name in clear_fields:
                self.clear[clear_fields[name].policy] += 1
            if type(value) in _CONTAINERS:
                self.node(value, f"{path}.{name}" if path else name)


_CONTAINERS = (dict, list)


def redact_leaf(rule: Rule, value: object) -> object:
    """A field's masked value: objects and lists are Full; null stays null (it hides
    nothing); numbers and booleans are masked as their JSON text."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        return full("")
    if isinstance(value, str):
        return rule.redact(value)
    return rule.redact(json.dumps(value))


# Building a plan -------------------------------------------------------------------------


def _parts_of(resource: Sequence[str]) -> tuple[str, ...]:
    return (resource[4],) if len(resource) == 5 else PARTS


def _excluded(topic: str, patterns: Iterable[str]) -> bool:
    return any(
        resource_covers(["cluster", "*", "topic", p], ["cluster", "*", "topic", topic])
        for p in patterns
    )


def compile_plan(
    policies: Iterable[DataPolicy],
    excluded: Iterable[str],
    *,
    cluster_id: str | None,
    topic: str,
    roles: Sequence[str],
) -> Plan:
    """The plan for one reader; ``cluster_id`` None matches any cluster (the sandbox)."""
    parts = {part: PartPlan() for part in PARTS}
    categories: dict[str, str] = {}
    if _excluded(topic, excluded):
        return Plan(parts, categories)
    target = ["cluster", cluster_id or "*", "topic", topic]
    for policy in policies:
        covered = _covered_parts(policy, target, any_cluster=cluster_id is None)
        if not covered:
            continue
        categories[policy.name] = policy.category
        rule = Rule(policy.name, REDACTIONS[policy.redaction], holds(roles, policy.unmask_roles))
        for part in covered:
            _add(parts[part], rule, policy)
    return Plan(parts, categories)


def _covered_parts(policy: DataPolicy, target: list[str], *, any_cluster: bool) -> set[str]:
    covered: set[str] = set()
    for resource in policy.resources:
        head = list(resource[:4])
        if any_cluster:
            head[1] = "*"
        if resource_covers(head, target):
            covered.update(_parts_of(resource))
    return covered


def _add(plan: PartPlan, rule: Rule, policy: DataPolicy) -> None:
    if policy.policy_type == SCALAR:
        if rule.clear:
            plan.scalar_clear = plan.scalar_clear or rule
        else:
            plan.scalar = plan.scalar or rule
        return
    table = plan.clear_fields if rule.clear else plan.fields
    for name in policy.fields:
        if name not in plan.fields:
            table.setdefault(name, rule)


def plan_for(*, cluster_id: str | None, topic: str, roles: Sequence[str]) -> Plan:
    """The plan for a reader holding ``roles`` on ``topic``, from the policies in the database."""
    policies = list(DataPolicy.objects.order_by("position", "id"))
    excluded = DataPolicySettings.load().excluded_topics if policies else []
    return compile_plan(policies, excluded, cluster_id=cluster_id, topic=topic, roles=roles)
