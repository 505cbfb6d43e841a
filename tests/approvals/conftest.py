"""Approvals helpers: a Stage policy for team platform, admins allowed, API clients by persona."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from approvals.models import Approval
from audit.models import AuditRecord
from rbac import engine
from rbac.models import Policy, Profile
from tests.audit.conftest import (  # noqa: F401  (fixtures, reused: the sinks and a worker)
    hook_stub,
    module_worker,
    sinks,
    slack_stub,
)
from tests.topics.conftest import (  # noqa: F401  (fixtures, reused)
    ALL_ACTIONS,
    cluster,
    make_topic,
    new_name,
)

BASE = "/api/clusters/flex-test/topics/"


@pytest.fixture
def dan(personas):
    """An admin who is also in team platform: his own topic actions are staged."""
    user = get_user_model().objects.create_user("dan", "dan@example.com", "pw-dan")
    Profile.objects.create(
        user=user, provider="github", login="dan", provider_roles=["member", "admins", "platform"]
    )
    return user


@pytest.fixture
def staging(personas, dan) -> None:
    """Team platform's topic actions are staged; admins are allowed them."""
    Policy.objects.create(
        resource=["cluster", "*"], effect="Stage", actions=ALL_ACTIONS, roles=["platform"]
    )
    Policy.objects.create(
        resource=["cluster", "*"], effect="Allow", actions=ALL_ACTIONS, roles=["admins"]
    )
    engine.invalidate()


@pytest.fixture
def api(personas, dan) -> Callable[[str], APIClient]:
    """``api("bob")``: an API client signed in as that persona."""
    users = {**personas, "dan": dan}

    def client_for(login: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(users[login])
        return client

    return client_for


def records_of(approval_id: str) -> list[AuditRecord]:
    """Every record of one request, oldest first (they share ctx.correlation-id)."""
    return list(
        AuditRecord.objects.filter(
            document__ctx__contains={"correlation-id": str(approval_id)}
        ).order_by("ts", "id")
    )


def approval(approval_id: str) -> Approval:
    return Approval.objects.get(pk=approval_id)
