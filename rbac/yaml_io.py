"""Policy files: import (all or nothing) and export, in the modelled console's YAML format.

```yaml
authorized_roles: ["*"]
admin_roles: [admins]
auditor_roles: [auditors]
policies:
  - resource: ["cluster", "*", "topic", "tx-*"]
    effect: Allow            # Allow | Deny | Stage (needs an admin's approval)
    actions: [TOPIC_INSPECT, TOPIC_PRODUCE]
    role: "*"                # or roles: [a, b]
  - resource: ["cluster", "*", "group", "tx-*"]   # consumer groups, the same globs
    effect: Allow
    actions: [GROUP_EDIT]
    role: platform
tenants: [...]               # kept, not enforced
```
Flex adds two optional policy keys, ``description`` and ``enabled``, so an export
round-trips; files without them import unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml
from django.db.models import Max

from lib.files import import_all_or_nothing
from rbac import signals
from rbac.models import AccessSettings, Policy
from rbac.validation import check_policy, check_role_list, show

ACCESS_KEYS: tuple[str, ...] = ("authorized_roles", "admin_roles", "auditor_roles")
KNOWN_KEYS = frozenset({*ACCESS_KEYS, "policies", "tenants"})


class PolicyFileError(Exception):
    """A policy file that cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} error(s) in the policy file")
        self.errors = errors


@dataclass
class PolicyFile:
    """A parsed, validated policy file."""

    policies: list[dict]
    access: dict[str, list[str]] = field(default_factory=dict)
    tenants: Any = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    added: int
    removed: int
    unchanged: int
    notes: list[str]

    def summary(self) -> str:
        return (
            f"{self.added} policies added, {self.removed} removed, {self.unchanged} already present"
        )


def parse(text: str | bytes) -> PolicyFile:
    """Parse and validate a policy file; raises PolicyFileError listing every error."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyFileError([_yaml_error(exc)]) from None
    if not isinstance(data, dict):
        raise PolicyFileError([f"the file must be a YAML mapping with policies:, got {show(data)}"])
    errors: list[str] = []
    notes = [f"{key}: not a Flex setting, ignored" for key in data if key not in KNOWN_KEYS]
    access = _parse_access(data, errors)
    policies = _parse_policies(data, errors, notes)
    if errors:
        raise PolicyFileError(errors)
    tenants = data.get("tenants")
    if tenants:
        notes.append("tenants: kept, not enforced by Flex")
    return PolicyFile(policies=policies, access=access, tenants=tenants, notes=notes)


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"YAML error at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"YAML error: {problem}"


def _parse_access(data: dict, errors: list[str]) -> dict[str, list[str]]:
    access = {}
    for key in ACCESS_KEYS:
        if key in data:
            roles, problems = check_role_list(data[key], key)
            errors += [str(problem) for problem in problems]
            access[key] = roles
    return access


def _parse_policies(data: dict, errors: list[str], notes: list[str]) -> list[dict]:
    if "policies" not in data:
        errors.append("policies: missing (write policies: [] for none)")
        return []
    items = data["policies"]
    if items is None:
        items = []
    if not isinstance(items, list):
        errors.append(f"policies: {show(items)} must be a list of policies")
        return []
    policies = []
    for index, item in enumerate(items):
        cleaned, problems = check_policy(item)
        errors += [f"policies[{index}].{problem}" for problem in problems]
        if cleaned.get("effect") == "Stage" and not problems:
            notes.append(f"policies[{index}]: effect Stage: its actions need an admin's approval")
        policies.append(cleaned)
    return policies


def rule_key(policy: dict | Policy) -> tuple:
    """What makes two policies the same rule (description and enabled aside)."""
    data = policy.as_data() if isinstance(policy, Policy) else policy
    return (
        tuple(data["resource"]),
        data["effect"],
        tuple(data["actions"]),
        tuple(data["roles"]),
    )


def state() -> dict:
    """Access settings and every policy, for the audit record's before and after."""
    return {
        "access": AccessSettings.load().snapshot(),
        "policies": [p.snapshot() for p in Policy.objects.order_by("position", "id")],
    }


def import_text(
    text: str | bytes,
    *,
    replace: bool = False,
    by: str = "",
    user=None,
    request=None,
    via: str = "cli",
) -> ImportResult:
    """Import a policy file all or nothing, and signal exactly one audit event either way."""

    def record(**outcome) -> None:
        signals.send_policy_changed(
            user=user, request=request, event=signals.IMPORT, via=via, **outcome
        )

    return import_all_or_nothing(
        text,
        parse=parse,
        apply=lambda parsed: apply(parsed, replace=replace, by=by),
        state=state,
        record=record,
        error=PolicyFileError,
        extra={"replace": replace},
        summary=lambda result: {"summary": result.summary(), "notes": result.notes},
    )


def apply(parsed: PolicyFile, *, replace: bool, by: str) -> ImportResult:
    """Write a parsed file: policies (added, or replacing all), access settings, tenants."""
    removed, existing = 0, set()
    if replace:
        removed = Policy.objects.count()
        Policy.objects.all().delete()
    else:
        existing = {rule_key(p) for p in Policy.objects.all()}
    top = Policy.objects.aggregate(top=Max("position"))["top"]
    start = 0 if top is None else top + 1
    new, unchanged = [], 0
    for data in parsed.policies:
        if not replace and rule_key(data) in existing:
            unchanged += 1
            continue
        existing.add(rule_key(data))
        new.append(Policy(**data, position=start + len(new), created_by=by, updated_by=by))
    Policy.objects.bulk_create(new, batch_size=1000)
    _apply_access(parsed, by)
    return ImportResult(added=len(new), removed=removed, unchanged=unchanged, notes=parsed.notes)


def _apply_access(parsed: PolicyFile, by: str) -> None:
    if not parsed.access and parsed.tenants is None:
        return
    access = AccessSettings.load()
    for key, roles in parsed.access.items():
        setattr(access, key, roles)
    if parsed.tenants is not None:
        access.tenants = parsed.tenants
    access.updated_by = by
    access.save()


def export_data() -> dict:
    """Access settings and every policy, in file order, as a policy file holds them."""
    access = AccessSettings.load()
    data: dict = {key: list(getattr(access, key)) for key in ACCESS_KEYS}
    data["policies"] = [_policy_entry(p) for p in Policy.objects.order_by("position", "id")]
    if access.tenants:
        data["tenants"] = access.tenants
    return data


def _policy_entry(policy: Policy) -> dict:
    entry: dict = {"resource": list(policy.resource), "effect": policy.effect}
    entry["actions"] = list(policy.actions)
    if len(policy.roles) == 1:
        entry["role"] = policy.roles[0]
    else:
        entry["roles"] = list(policy.roles)
    if policy.description:
        entry["description"] = policy.description
    if not policy.enabled:
        entry["enabled"] = False
    return entry


def export_text() -> str:
    header = f"# Flex RBAC policies, exported {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n"
    body = yaml.safe_dump(
        export_data(), sort_keys=False, default_flow_style=None, allow_unicode=True, width=100
    )
    return header + body
