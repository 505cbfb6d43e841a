"""Policy validation, shared by every way a policy enters: Django admin, import and the API.

``check_policy(data)`` takes a policy as written in a policy file (``role`` or
``roles``) and returns the normalised policy with a list of errors; each error
names the field and the bad value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rbac.actions import CATALOGUE

EFFECTS: tuple[str, ...] = ("Allow", "Deny", "Stage")
POLICY_KEYS = frozenset(
    {"resource", "effect", "actions", "role", "roles", "description", "enabled"}
)

_CATALOGUE = frozenset(CATALOGUE)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a policy."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def show(value: Any) -> str:
    """A value as it appears in an error message (JSON, so strings are quoted)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


# What a policy's resource may name inside a cluster: ["cluster", ID|*, KIND, NAME].
RESOURCE_KINDS: tuple[str, ...] = ("topic", "group")


def topic_name_error(name: str, kind: str = "topic") -> str | None:
    """Why ``name`` is not a name pattern of ``kind``: exact, ``*``, ``prefix*`` or ``*suffix``."""
    if not name:
        return f"the {kind} name is empty"
    stars = name.count("*")
    if stars == 0 or name == "*":
        return None
    if stars == 1 and (name.startswith("*") or name.endswith("*")):
        return None
    return f"{kind} name {show(name)} may have one * only, at its start or its end"


def _shapes(kinds: tuple[str, ...], name: str) -> str:
    named = " or ".join(f'["cluster", {name}, "{kind}", NAME]' for kind in kinds)
    return f'must be ["cluster", {name}] or {named}'


def resource_errors(resource: Any, kinds: tuple[str, ...] = ("topic",)) -> list[str]:
    """Why ``resource`` is not ``["cluster", ID|*]`` or ``["cluster", ID|*, KIND, NAME]`` for
    one of ``kinds`` (policies: ``RESOURCE_KINDS``; data policies: topics only)."""
    shape = _shapes(kinds, 'ID or "*"')
    if not isinstance(resource, list | tuple) or len(resource) not in (2, 4):
        return [f"{show(resource)} {shape}"]
    errors = []
    for part in resource:
        if not isinstance(part, str):
            errors.append(f"{show(part)} in {show(resource)} must be a string (quote it in YAML)")
    if errors:
        return errors
    if resource[0] != "cluster":
        errors.append(f'{show(resource)} must start with "cluster", not {show(resource[0])}')
    if not resource[1]:
        errors.append(f'{show(resource)} needs a cluster id or "*"')
    elif "*" in resource[1] and resource[1] != "*":
        errors.append(f'cluster {show(resource[1])} in {show(resource)} must be an id or "*"')
    if len(resource) == 4:
        if resource[2] not in kinds:
            wanted = " or ".join(f'"{kind}"' for kind in kinds)
            errors.append(f"{show(resource)} names {show(resource[2])} where {wanted} belongs")
        problem = topic_name_error(resource[3], resource[2] if resource[2] in kinds else "topic")
        if problem:
            errors.append(f"{problem} (in {show(resource)})")
    return errors


def target_errors(resource: Any) -> list[str]:
    """Why ``resource`` is not a target: ``["cluster", ID]`` or ``[..., KIND, NAME]``."""
    shape = _shapes(RESOURCE_KINDS, "ID")
    if not isinstance(resource, list | tuple) or len(resource) not in (2, 4):
        return [f"{show(resource)} {shape}"]
    if not all(isinstance(part, str) and part for part in resource):
        return [f"{show(resource)} {shape}, all non-empty strings"]
    if resource[0] != "cluster" or (len(resource) == 4 and resource[2] not in RESOURCE_KINDS):
        return [f"{show(resource)} {shape}"]
    return []


def _string_list(value: Any, field: str, *, empty_ok: bool) -> tuple[list[str], list[FieldError]]:
    if not isinstance(value, list | tuple):
        return [], [FieldError(field, f"{show(value)} must be a list")]
    errors = [
        FieldError(field, f"{show(item)} must be a non-empty string")
        for item in value
        if not isinstance(item, str) or not item.strip()
    ]
    if not value and not empty_ok:
        errors.append(FieldError(field, f"{show(value)} must name at least one"))
    return [item.strip() for item in value if isinstance(item, str)], errors


def check_actions(actions: Any) -> tuple[list[str], list[FieldError]]:
    cleaned, errors = _string_list(actions, "actions", empty_ok=False)
    for name in cleaned:
        if name and name not in _CATALOGUE:
            errors.append(FieldError("actions", f"unknown action {show(name)}"))
    return _unique(cleaned), errors


def check_roles(data: Mapping[str, Any]) -> tuple[list[str], list[FieldError]]:
    """Roles from ``role: x`` or ``roles: [x, y]``; one of them, at least one role."""
    if "role" in data and "roles" in data:
        both = f"role {show(data['role'])} and roles {show(data['roles'])}"
        return [], [FieldError("roles", f"give role or roles, not both ({both})")]
    if "role" in data:
        role = data["role"]
        if not isinstance(role, str) or not role.strip():
            return [], [FieldError("role", f"{show(role)} must be a non-empty string")]
        return [role.strip()], []
    if "roles" not in data:
        return [], [FieldError("roles", "missing: give role: NAME or roles: [NAME, ...]")]
    cleaned, errors = _string_list(data["roles"], "roles", empty_ok=False)
    return _unique(cleaned), errors


def check_role_list(value: Any, field: str) -> tuple[list[str], list[FieldError]]:
    """A list of role names such as ``authorized_roles`` (may be empty)."""
    cleaned, errors = _string_list(value, field, empty_ok=True)
    return _unique(cleaned), errors


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def check_policy(data: Any) -> tuple[dict, list[FieldError]]:
    """Validate one policy; returns ``({resource, effect, actions, roles, ...}, errors)``."""
    if not isinstance(data, Mapping):
        return {}, [FieldError("policy", f"{show(data)} must be a mapping of resource, effect, …")]
    errors: list[FieldError] = []
    unknown = sorted(str(key) for key in data if key not in POLICY_KEYS)
    for key in unknown:
        errors.append(FieldError(key, "unknown field (expected resource, effect, actions, role)"))
    resource = data.get("resource")
    if "resource" not in data:
        errors.append(FieldError("resource", "missing"))
    else:
        problems = resource_errors(resource, RESOURCE_KINDS)
        errors += [FieldError("resource", message) for message in problems]
    effect = data.get("effect")
    if effect not in EFFECTS:
        errors.append(FieldError("effect", f"{show(effect)} must be Allow or Deny (or Stage)"))
    actions, action_errors = check_actions(data.get("actions"))
    roles, role_errors = check_roles(data)
    errors += action_errors + role_errors
    description = data.get("description", "")
    if not isinstance(description, str):
        errors.append(FieldError("description", f"{show(description)} must be text"))
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.append(FieldError("enabled", f"{show(enabled)} must be true or false"))
    cleaned = {
        "resource": list(resource) if isinstance(resource, list | tuple) else resource,
        "effect": effect,
        "actions": actions,
        "roles": roles,
        "description": description if isinstance(description, str) else "",
        "enabled": enabled if isinstance(enabled, bool) else True,
    }
    return cleaned, errors
