"""The data-policy format, checked once for import, Django admin and the sandbox.

A policy is ``name``, ``category``, ``resources``, ``redaction``, ``type``, ``fields``
and Flex's ``unmask_roles``; every problem is reported naming the key and the value.
"""

from __future__ import annotations

from typing import Any

from datapolicy.redactions import REDACTIONS
from rbac.validation import resource_errors, show, topic_name_error

SCALAR, NON_SCALAR = "scalar", "non-scalar"
TYPES = (SCALAR, NON_SCALAR)
PARTS = ("key", "value", "headers")
POLICY_KEYS = frozenset(
    {"name", "category", "resources", "redaction", "type", "fields", "unmask_roles"}
)
RESOURCE_SHAPE = (
    '["cluster", ID|"*", "topic", NAME|"*"|glob] optionally followed by key|value|headers'
)


def _strings(value: Any, key: str, errors: list[str], *, empty_ok: bool) -> list[str]:
    if value is None and empty_ok:
        return []
    if not isinstance(value, list):
        errors.append(f"{key}: {show(value)} must be a list")
        return []
    bad = [item for item in value if not isinstance(item, str) or not item.strip()]
    errors += [f"{key}: {show(item)} must be a non-empty string" for item in bad]
    if not value and not empty_ok:
        errors.append(f"{key}: must name at least one")
    return list(dict.fromkeys(item.strip() for item in value if isinstance(item, str) and item))


def resource_problems(resource: Any) -> list[str]:
    """Why ``resource`` is not a data-policy resource (see RESOURCE_SHAPE)."""
    if not isinstance(resource, list) or len(resource) not in (4, 5):
        return [f"{show(resource)} must be {RESOURCE_SHAPE}"]
    problems = resource_errors(resource[:4])
    if len(resource) == 5 and resource[4] not in PARTS:
        problems.append(
            f"part {show(resource[4])} in {show(resource)} must be key, value or headers"
        )
    return problems


def _resources(value: Any, errors: list[str]) -> list[list[str]]:
    if not isinstance(value, list) or not value:
        errors.append(f"resources: {show(value)} must be a non-empty list of resources")
        return []
    for resource in value:
        errors += [f"resources: {problem}" for problem in resource_problems(resource)]
    return [list(resource) for resource in value if isinstance(resource, list)]


def _text(data: dict, key: str, errors: list[str], *, required: bool) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{key}: {show(value)} must be a non-empty string")
        return ""
    return value.strip()


def _choice(data: dict, key: str, choices, errors: list[str]) -> str:
    value = data.get(key)
    if value not in choices:
        errors.append(f"{key}: unknown {key} {show(value)} (one of {', '.join(choices)})")
        return ""
    return value


def check_policy(data: Any) -> tuple[dict, list[str]]:
    """A policy as the database keeps it, and every problem found (empty when valid)."""
    if not isinstance(data, dict):
        return {}, [f"{show(data)} must be a mapping with name, resources, redaction, type"]
    errors = [f"unknown key {show(key)}" for key in data if key not in POLICY_KEYS]
    cleaned = {
        "name": _text(data, "name", errors, required=True),
        "category": _text(data, "category", errors, required=False),
        "resources": _resources(data.get("resources"), errors),
        "redaction": _choice(data, "redaction", list(REDACTIONS), errors),
        "policy_type": _choice(data, "type", TYPES, errors),
        "fields": _strings(data.get("fields"), "fields", errors, empty_ok=True),
        "unmask_roles": _strings(data.get("unmask_roles"), "unmask_roles", errors, empty_ok=True),
    }
    if cleaned["policy_type"] == NON_SCALAR and not cleaned["fields"]:
        errors.append("fields: a non-scalar policy must name the fields it masks")
    if cleaned["policy_type"] == SCALAR and cleaned["fields"]:
        errors.append(
            f"fields: {show(cleaned['fields'])} given, but a scalar policy masks whole parts"
        )
    return cleaned, errors


def check_exclusions(value: Any) -> tuple[list[str], list[str]]:
    """``exclusions: {topics: [NAME|glob, ...]}`` → the topic patterns, and the problems."""
    if value is None:
        return [], []
    if not isinstance(value, dict):
        return [], [f"exclusions: {show(value)} must be a mapping with topics:"]
    errors = [f"exclusions: unknown key {show(key)}" for key in value if key != "topics"]
    topics = _strings(value.get("topics"), "exclusions.topics", errors, empty_ok=True)
    return topics, errors + topic_pattern_problems(topics)


def topic_pattern_problems(topics: list[str]) -> list[str]:
    problems = [topic_name_error(name) for name in topics]
    return [f"exclusions.topics: {problem}" for problem in problems if problem]
