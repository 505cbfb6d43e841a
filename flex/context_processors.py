"""Template context shared by every page: the Settings menu, by what the user may open."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from rbac.door import can_read_audit_log, is_admin


def _link(label: str, name: str) -> dict | None:
    try:
        return {"label": label, "url": reverse(name)}
    except NoReverseMatch:  # the page arrives with a later feature
        return None


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"settings_menu": []}
    entries = []
    if can_read_audit_log(user):
        entries.append(_link("Audit log", "audit-log"))
    entries.append(_link("User log", "user-log"))
    entries.append(_link("Approvals", "approval-list"))
    entries.append(_link("API tokens", "token-settings"))
    if is_admin(user):
        entries.append(_link("Policies", "policy-simulate"))
        entries.append(_link("Data policies", "data-policy-sandbox"))
    return {"settings_menu": [e for e in entries if e]}
