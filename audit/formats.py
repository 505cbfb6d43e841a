"""What the webhook sink sends (``WEBHOOK_FORMAT``): Flex's document, or a SIEM's format.

- ``flex``: the record's document exactly as on the audit topic.
- ``cloudevents``: a CloudEvents 1.0 event in structured JSON mode, the document as ``data``.
- ``ocsf``: an OCSF API Activity event (class_uid 6003), the document under ``unmapped``.

Each answers the body bytes and content type; the webhook signs those very bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.conf import settings

from audit.transports import Item

FORMATS = ("flex", "cloudevents", "ocsf")
OCSF_VERSION = "1.3.0"
OCSF_API_ACTIVITY = 6003  # category 6 (Application Activity), class 3
_ACTIVITIES = {"create": 1, "read": 2, "update": 3, "delete": 4}
_VERBS = {
    "create": "create",
    "produce": "create",
    "delete": "delete",
    "truncate": "delete",
    "purge": "delete",
    "edit": "update",
    "alter": "update",
    "update": "update",
    "import": "update",
}


def body_for(item: Item, fmt: str) -> tuple[bytes, str]:
    """The bytes to POST for ``item`` in format ``fmt``, and their content type."""
    if fmt == "cloudevents":
        return _dumps(cloudevent(item.document)), "application/cloudevents+json; charset=utf-8"
    if fmt == "ocsf":
        return _dumps(ocsf_event(item.document)), "application/json"
    return item.text.encode(), "application/json"


def _dumps(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def _event_name(document: dict) -> str:
    event = (document.get("data") or {}).get("event") or [""]
    return str(event[0]) if event else ""


def _time(document: dict) -> str:
    moment = datetime.fromtimestamp(int(document.get("ts") or 0) / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cloudevent(document: dict) -> dict:
    """CloudEvents 1.0: ``type`` is ``io.flex.audit.`` + the record type, ``subject`` its event."""
    return {
        "specversion": "1.0",
        "id": str(document.get("id", "")),
        "source": f"{settings.SITE_URL.rstrip('/')}/settings/audit-log/",
        "type": "io.flex.audit." + str(document.get("type", "record")).replace("/", "."),
        "time": _time(document),
        "subject": _event_name(document) or str(document.get("type", "")),
        "datacontenttype": "application/json",
        "data": document,
    }


def ocsf_event(document: dict) -> dict:
    """OCSF API Activity: who (actor), what (api.operation, resources), how it went (status)."""
    data = document.get("data") or {}
    user, ctx = data.get("user") or {}, document.get("ctx") or {}
    status = (data.get("response") or {}).get("status", "")
    activity = _activity(_event_name(document), str(document.get("type", "")))
    event = {
        "class_uid": OCSF_API_ACTIVITY,
        "class_name": "API Activity",
        "category_uid": 6,
        "category_name": "Application Activity",
        "activity_id": activity,
        "type_uid": OCSF_API_ACTIVITY * 100 + activity,
        "time": int(document.get("ts") or 0),
        "severity_id": {"succeeded": 1, "failed": 2, "denied": 3}.get(status, 0),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": str(document.get("id", "")),
            "event_code": _event_name(document),
            "product": {"name": "Flex", "vendor_name": "Flex"},
        },
        "actor": {"user": _ocsf_user(user), "app_name": "Flex"},
        "api": {"operation": _event_name(document), "service": {"name": "Flex"}},
        "src_endpoint": {"ip": ctx.get("client-ip") or None, "name": ctx.get("via") or "flex"},
        "http_request": {"user_agent": ctx.get("user-agent") or None},
        "resources": _resources(data, ctx),
        **_status(status, (data.get("response") or {}).get("error")),
        "unmapped": document,
    }
    return _without_nulls(event)


def _activity(event: str, record_type: str) -> int:
    if record_type.startswith("query/"):
        return _ACTIVITIES["read"]
    verb = event.split("/", 1)[-1].split("-", 1)[0]
    return _ACTIVITIES.get(_VERBS.get(verb, ""), 99)


def _ocsf_user(user: dict) -> dict:
    return {
        "name": user.get("login") or user.get("name") or None,
        "full_name": user.get("name") or None,
        "email_addr": user.get("email") or None,
        "uid": user.get("id") or None,
    }


def _resources(data: dict, ctx: dict) -> list[dict]:
    event = data.get("event") or []
    request = event[1] if len(event) > 1 and isinstance(event[1], dict) else {}
    resources = []
    if ctx.get("cluster-id"):
        resources.append({"type": "kafka-cluster", "uid": ctx["cluster-id"]})
    if request.get("topic-name"):
        resources.append({"type": "kafka-topic", "name": str(request["topic-name"])})
    return resources


def _status(status: str, error: object) -> dict:
    if status == "succeeded":
        return {"status_id": 1, "status": "Success"}
    if status in ("failed", "denied"):
        return {"status_id": 2, "status": "Failure", "status_detail": str(error or status)}
    return {"status_id": 0, "status": "Unknown"}


def _without_nulls(value: dict) -> dict:
    """OCSF leaves out what is unknown: drop None values and empty objects (not unmapped)."""
    clean = {}
    for key, item in value.items():
        if isinstance(item, dict) and key != "unmapped":
            item = _without_nulls(item)
        if item is not None and item != {}:
            clean[key] = item
    return clean
