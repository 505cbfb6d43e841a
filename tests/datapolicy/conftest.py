"""Data-policy helpers: policies in the database, messages on the session's Tansu."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from datapolicy.models import DataPolicy, DataPolicySettings
from tests.topics.conftest import (  # noqa: F401  (fixtures, reused)
    allow,
    bob,
    cluster,
    make_topic,
    new_name,
)
from topics import kafka as kafka_client


@pytest.fixture
def data_policy(db) -> Callable[..., DataPolicy]:
    def make(name: str, **fields) -> DataPolicy:
        defaults = {
            "resources": [["cluster", "*", "topic", "*", "value"]],
            "redaction": "ShowLast4",
            "policy_type": "non-scalar",
            "position": DataPolicy.objects.count(),
        }
        return DataPolicy.objects.create(name=name, **{**defaults, **fields})

    return make


@pytest.fixture
def exclude(db) -> Callable[[list[str]], None]:
    def make(topics: list[str]) -> None:
        row = DataPolicySettings.load()
        row.excluded_topics = topics
        row.save()

    return make


@pytest.fixture
def produce(cluster) -> Callable[..., None]:  # noqa: F811  (the fixture above)
    def send(topic: str, *, key=None, value=None, headers=()) -> None:
        kafka_client.produce(cluster, topic, key=key, value=value, headers=list(headers))

    return send
