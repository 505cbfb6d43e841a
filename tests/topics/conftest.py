"""Topic test helpers: the primary cluster with its discovered id, unique topics, policies."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from audit.models import AuditRecord
from flex import tokens
from rbac import engine
from rbac.models import Policy
from tests.topics.groups import commit, new_group, produce_each
from topics import kafka as kafka_client
from topics.models import Cluster, primary_cluster

ALL_ACTIONS = [
    "TOPIC_INSPECT",
    "TOPIC_PRODUCE",
    "TOPIC_CREATE",
    "TOPIC_EDIT",
    "TOPIC_DELETE",
    "TOPIC_TRUNCATE",
]


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """The personas' passwords hashed cheaply: PBKDF2 costs about a second per test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_policies() -> Iterator[None]:
    """Each test starts from its own policies: the engine caches compiled ones per process,
    and a rolled-back test leaves the version counter where it was."""
    engine.invalidate()
    yield
    engine.invalidate()


@pytest.fixture
def cluster(kafka) -> Cluster:
    """The primary cluster (the session's Tansu), its Kafka id discovered: ``flex-test``."""
    found = primary_cluster()
    kafka_client.describe_cluster(found)
    found.refresh_from_db()
    assert found.key == "flex-test"
    return found


@pytest.fixture
def new_name() -> Callable[[str], str]:
    """A topic name no other test uses (the session broker is shared)."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture
def make_topic(cluster, new_name) -> Callable[..., str]:
    """Create a topic directly through topics.kafka (not audited); returns its name."""

    def make(name: str | None = None, partitions: int = 1, configs: dict | None = None) -> str:
        name = name or new_name()
        kafka_client.create_topic(
            cluster, name=name, partitions=partitions, replication_factor=1, configs=configs or {}
        )
        return name

    return make


@pytest.fixture
def allow(db) -> Callable[..., Policy]:
    """Create an Allow (or Deny) policy and make this process see it at once."""

    def make(
        actions: list[str] | None = None,
        roles: list[str] | None = None,
        resource: list[str] | None = None,
        effect: str = "Allow",
    ) -> Policy:
        policy = Policy.objects.create(
            resource=resource or ["cluster", "*"],
            effect=effect,
            actions=actions or ALL_ACTIONS,
            roles=roles or ["platform"],
        )
        engine.invalidate()
        return policy

    return make


@pytest.fixture
def bob(personas, client):
    """Bob (team platform) signed in to the test client."""
    client.force_login(personas["bob"])
    return personas["bob"]


@pytest.fixture
def api(personas) -> APIClient:
    """Bob, authenticated by token."""
    client = APIClient()
    _, token = tokens.issue(personas["bob"], "tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def topic(cluster, make_topic) -> str:
    """A topic with 5 messages on partition 0 and 3 on partition 1, one per batch."""
    name = make_topic(partitions=2)
    produce_each(cluster, name, {0: 5, 1: 3})
    return name


@pytest.fixture
def group(cluster, topic) -> str:
    """An empty consumer group committed at 2 on partition 0 and 1 on partition 1: lag 3 + 2."""
    name = new_group()
    commit(cluster, name, {(topic, 0): 2, (topic, 1): 1})
    return name


def last_record() -> AuditRecord:
    return AuditRecord.objects.order_by("-ts", "-id").first()


def topic_names(cluster: Cluster) -> set[str]:
    return {t.name for t in kafka_client.list_topics(cluster)}
