"""The sandbox: a pasted message masked as a reader holding some roles would see it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from audit.records import Payload
from datapolicy.masking import plan_for


@dataclass(frozen=True)
class Preview:
    result: dict  # what the page and the API show
    query: dict  # what the audit record keeps (the pasted parts as size + hash)


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "replace")


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else text.encode("utf-8", "surrogatepass")


def preview(
    *,
    cluster: str | None,
    topic: str,
    roles: Sequence[str],
    key: str | None,
    value: str | None,
    headers: Mapping[str, str],
) -> Preview:
    plan = plan_for(cluster_id=cluster or None, topic=topic, roles=roles)
    raw_headers = [(name, _bytes(text)) for name, text in headers.items()]
    masked = plan.mask(_bytes(key), _bytes(value), raw_headers)
    result = {
        "topic": topic,
        "roles": list(roles),
        "key": _text(masked.key),
        "value": _text(masked.value),
        "headers": {name: _text(data) for name, data in masked.headers},
        "masked": [mark.as_json() for mark in masked.marks],
        "policies": plan.applied(),
        "unmasked": plan.saw_unmasked,
    }
    query = {
        "cluster": cluster or None,
        "topic": topic,
        "roles": list(roles),
        "key": Payload(_bytes(key)),
        "value": Payload(_bytes(value)),
        "headers": {name: Payload(data) for name, data in raw_headers},
        "data-policies": plan.applied(),
        "data-policies/unmasked?": plan.saw_unmasked,
    }
    return Preview(result, query)
