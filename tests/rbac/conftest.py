from __future__ import annotations

import pytest

from rbac import engine


@pytest.fixture(autouse=True)
def fresh_policy_cache():
    """Each test starts from the database, not policies compiled in an earlier test."""
    engine.invalidate()
    yield
    engine.invalidate()


@pytest.fixture
def make_policy(db):
    """Create a Policy row: ``make_policy(["cluster", "*"], "Allow", ["TOPIC_CREATE"], ["*"])``."""
    from rbac.models import Policy

    def make(resource, effect, actions, roles, **extra):
        position = Policy.objects.count()
        policy = Policy(
            resource=resource,
            effect=effect,
            actions=actions,
            roles=roles,
            position=position,
            **extra,
        )
        policy.full_clean()
        policy.save()
        return policy

    return make


@pytest.fixture
def admin_user(personas):
    """alice: holds the admin role, and is staff so Django admin lets her in."""
    alice = personas["alice"]
    alice.is_staff = True
    alice.save()
    return alice


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Personas get passwords; the default hasher would spend seconds per test on them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
