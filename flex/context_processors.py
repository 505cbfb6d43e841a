"""Template context shared by every page: the navigation."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


def _link(label: str, name: str) -> dict | None:
    try:
        return {"label": label, "url": reverse(name)}
    except NoReverseMatch:  # the page arrives with a later feature
        return None


def navigation(request: HttpRequest) -> dict:
    """The Settings menu: each entry appears once its page exists."""
    entries = [
        _link("Audit log", "audit-log"),
        _link("User log", "user-log"),
        _link("Policies", "policy-simulate"),
    ]
    return {"settings_menu": [e for e in entries if e]}
