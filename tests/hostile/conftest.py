"""Hostile input: fixtures that give the personas what each case needs, and the invariants.

Every case here checks the same things (``Guard``): no answer of 500 or more, exactly one
audit record for each unsafe request that reaches a view, and nothing changed on Tansu
when the input is refused (no topic created, no config changed, no message added).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from audit.models import AuditRecord
from rbac import engine
from rbac.models import Policy
from tests.auth.conftest import browser, github, sign_in  # noqa: F401  (fixtures, reused)
from tests.hostile.support import Guard
from topics import kafka as kafka_client
from topics.models import Cluster, primary_cluster

ALL_TOPIC_ACTIONS = [
    "TOPIC_INSPECT",
    "TOPIC_PRODUCE",
    "TOPIC_CREATE",
    "TOPIC_EDIT",
    "TOPIC_DELETE",
    "TOPIC_TRUNCATE",
]


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """Personas' passwords hashed cheaply (PBKDF2 costs about a second per user here)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_policies() -> Iterator[None]:
    """No case sees policies compiled for another (rolled back) case."""
    engine.invalidate()
    yield
    engine.invalidate()


@pytest.fixture
def suffix() -> str:
    """A suffix no other case uses: the session's broker is shared."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def cluster(kafka) -> Cluster:
    """The primary cluster (the session's Tansu) with its Kafka id discovered."""
    found = primary_cluster()
    kafka_client.describe_cluster(found)
    found.refresh_from_db()
    return found


@pytest.fixture
def grant(db) -> Callable[..., Policy]:
    """``grant(actions, roles)``: an Allow policy on every cluster, seen at once."""

    def make(actions: list[str] | None = None, roles: list[str] | None = None) -> Policy:
        policy = Policy.objects.create(
            resource=["cluster", "*"],
            effect=Policy.ALLOW,
            actions=actions or ALL_TOPIC_ACTIONS,
            roles=roles or ["platform", "admins"],
        )
        engine.invalidate()
        return policy

    return make


@pytest.fixture
def bob(personas, grant, client, cluster) -> Client:
    """bob (team platform) signed in, allowed every topic action: only validation stands
    between his input and Tansu."""
    grant()
    client.force_login(personas["bob"])
    return client


@pytest.fixture
def api(personas, grant, cluster) -> Client:
    """bob signed in for the API (session authentication, CSRF not enforced by the test
    client: ``test_csrf`` covers that)."""
    grant()
    api_client = Client()
    api_client.force_login(personas["bob"])
    return api_client


@pytest.fixture
def planted(cluster, suffix) -> Iterator[Callable[..., str]]:
    """Create topics straight on Tansu through ``topics.kafka`` (as another tool would; Tansu
    accepts names Flex refuses) and delete them afterwards, so no other test of the
    session meets them in its topic list."""
    names: list[str] = []

    def plant(name: str | None = None, partitions: int = 1) -> str:
        name = name if name is not None else f"hostile-{suffix}-{len(names)}"
        kafka_client.create_topic(
            cluster, name=name, partitions=partitions, replication_factor=1, configs={}
        )
        names.append(name)
        return name

    yield plant
    for name in names:
        with contextlib.suppress(kafka_client.KafkaError):  # a test may have deleted it
            kafka_client.delete_topic(cluster, name)


@pytest.fixture
def guard(cluster) -> Guard:
    """The invariants, snapshotted now: ``guard.check(response, records=1)``."""
    return Guard(cluster)


@pytest.fixture
def records_count(db) -> Callable[[], int]:
    return AuditRecord.objects.count
