"""Data-policy files: import (all or nothing, one audit record either way) and export.

```yaml
policies:
  - name: Credit Card
    category: PII
    resources: [["cluster", "*", "topic", "*", "value"]]
    redaction: ShowLast4
    type: non-scalar
    fields: [credit_card, pan]
    unmask_roles: [fraud-team]
exclusions:
  topics: [tx_meta]
```
Without ``replace``, a file's policy replaces the one of the same name and the others are
added; exclusions are added to. With ``replace`` the file is the whole state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import yaml
from django.db.models import Max

from datapolicy import recording
from datapolicy.models import DataPolicy, DataPolicySettings
from datapolicy.validation import check_exclusions, check_policy
from lib.files import import_all_or_nothing
from rbac.validation import show

TOP_KEYS = frozenset({"policies", "exclusions"})


class DataPolicyFileError(Exception):
    """A file that cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} error(s) in the data-policy file")
        self.errors = errors


@dataclass(frozen=True)
class Parsed:
    policies: list[dict]
    excluded_topics: list[str]


@dataclass(frozen=True)
class ImportResult:
    added: int
    replaced: int
    removed: int

    def summary(self) -> str:
        return f"{self.added} data policies added, {self.replaced} replaced, {self.removed} removed"


def _load(text: str | bytes) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataPolicyFileError([f"YAML error{where}: {problem}"]) from None
    if not isinstance(data, dict):
        raise DataPolicyFileError([f"the file must be a mapping with policies:, got {show(data)}"])
    return data


def parse(text: str | bytes) -> Parsed:
    """Parse and validate a file; raises DataPolicyFileError listing every error."""
    data = _load(text)
    errors = [f"unknown key {show(key)}" for key in data if key not in TOP_KEYS]
    items = data.get("policies")
    if not isinstance(items, list):
        errors.append(f"policies: {show(items)} must be a list of data policies")
        items = []
    policies, names = [], set()
    for index, item in enumerate(items):
        cleaned, problems = check_policy(item)
        errors += [f"policies[{index}].{problem}" for problem in problems]
        if cleaned.get("name") in names:
            errors.append(f"policies[{index}].name: {show(cleaned['name'])} is used twice")
        names.add(cleaned.get("name"))
        policies.append(cleaned)
    topics, problems = check_exclusions(data.get("exclusions"))
    if errors or problems:
        raise DataPolicyFileError(errors + problems)
    return Parsed(policies, topics)


def state() -> dict:
    """Every data policy and the exclusions: the record's before and after."""
    return {
        "policies": [p.snapshot() for p in DataPolicy.objects.order_by("position", "id")],
        **DataPolicySettings.load().snapshot(),
    }


def import_text(
    text: str | bytes, *, replace: bool = False, by: str = "", request=None, via: str = "cli"
) -> ImportResult:
    """Import all or nothing; exactly one audit record, failed or succeeded."""

    def record(**outcome) -> None:
        recording.change_recorded(request=request, change="import", via=via, **outcome)

    return import_all_or_nothing(
        text,
        parse=parse,
        apply=lambda parsed: apply(parsed, replace=replace, by=by),
        state=state,
        record=record,
        error=DataPolicyFileError,
        extra={"replace": replace},
        summary=lambda result: {"summary": result.summary()},
    )


def apply(parsed: Parsed, *, replace: bool, by: str) -> ImportResult:
    removed = 0
    if replace:
        removed = DataPolicy.objects.exclude(name__in=[p["name"] for p in parsed.policies]).count()
        DataPolicy.objects.exclude(name__in=[p["name"] for p in parsed.policies]).delete()
    existing = {p.name: p for p in DataPolicy.objects.all()}
    top = DataPolicy.objects.aggregate(top=Max("position"))["top"]
    start = 0 if top is None else top + 1
    added = replaced = 0
    for index, data in enumerate(parsed.policies):
        policy = existing.get(data["name"])
        position = index if replace else (policy.position if policy else start + added)
        if policy is None:
            policy, added = DataPolicy(), added + 1
        else:
            replaced += 1
        for key, value in data.items():
            setattr(policy, key, value)
        policy.position, policy.updated_by = position, by
        policy.save()
    _apply_exclusions(parsed, replace=replace, by=by)
    return ImportResult(added=added, replaced=replaced, removed=removed)


def _apply_exclusions(parsed: Parsed, *, replace: bool, by: str) -> None:
    settings_row = DataPolicySettings.load()
    current = [] if replace else list(settings_row.excluded_topics)
    settings_row.excluded_topics = list(dict.fromkeys([*current, *parsed.excluded_topics]))
    settings_row.updated_by = by
    settings_row.save()


def export_data() -> dict:
    return {
        "policies": [p.as_data() for p in DataPolicy.objects.order_by("position", "id")],
        "exclusions": {"topics": list(DataPolicySettings.load().excluded_topics)},
    }


def export_text() -> str:
    header = f"# Flex data policies, exported {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n"
    body = yaml.safe_dump(
        export_data(), sort_keys=False, default_flow_style=None, allow_unicode=True, width=100
    )
    return header + body
