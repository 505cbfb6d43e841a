"""The record types and events Flex writes, for the Audit log's drop-downs.

Each app names its own events when it starts (``register``, from its ``AppConfig.ready``);
audit adds the ones its Django admin wrapper writes. A test reads the source for event
names, so an event added without registering it fails there, not in a user's filter.
"""

from __future__ import annotations

from django.utils.text import slugify

TYPES = (
    "mutation/request",
    "query/request",
    "auth/login",
    "auth/logout",
    "auth/login-refused",
    "auth/token",  # API tokens made and revoked (flex/tokens.py)
    "auth/api-refused",  # a refused API authentication
    "audit/checkpoint",  # the ledger's signed checkpoints (audit/ledger.py)
)
_EVENTS: set[str] = set()


def register(*events: str) -> None:
    _EVENTS.update(events)


def known() -> list[str]:
    """Every event Flex writes, by name."""
    return sorted(_EVENTS | _admin_events())


def _admin_events() -> set[str]:
    from django.apps import apps

    from audit.admin_audit import AUDITED

    events = {"mutation/change-own-password", "mutation/set-user-password"}
    for label in AUDITED:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        name = slugify(str(model._meta.verbose_name))
        events.update(f"mutation/{verb}-{name}" for verb in ("create", "edit", "delete"))
    return events
