"""The consumer-groups page and API at 500 groups × 20 partitions, beside the raw admin calls.

A Tansu broker on a free port and a scratch database (PostgreSQL under ``make bench``):
25 topics of 20 partitions, one message on each partition; 500 empty groups, each with
offsets committed on all 20 partitions of one topic (``alter_group_offsets``, one call per
group, no consumers). Then, interleaved, the median and p95 of repeated requests:
(a) ``GET /clusters/<id>/groups/`` through Django's test Client as an authorized member,
end to end (Kafka calls, read model, template); (b) ``GET /api/clusters/<id>/groups/``;
(c) the raw admin calls behind both — list_groups, list_group_offsets of every group,
describe_groups of every group, describe_topics, list_partition_offsets (latest) of the
10,000 committed partitions — on a plain kafka-python admin client (with the same
ACL-operations work-around), in the same run.
Run: ``python -m bench.groups`` (or ``python -m bench.report bench.groups``).
"""

from __future__ import annotations

import statistics
import time

from bench.rows import compared, run_alone

GROUPS = 500
PARTITIONS = 20
TOPICS = 25
REPEATS = 15
TARGET_MS = 1000
MEMBER = "bench-member"


def _populate(cluster) -> None:
    from kafka import KafkaProducer
    from kafka.structs import OffsetAndMetadata, TopicPartition

    from topics import kafka

    topics = [f"bench-groups-{n}" for n in range(TOPICS)]
    for name in topics:
        kafka.create_topic(
            cluster, name=name, partitions=PARTITIONS, replication_factor=1, configs={}
        )
    producer = KafkaProducer(**kafka.client_options(cluster))
    for name in topics:
        for partition in range(PARTITIONS):
            producer.send(name, value=b"x", partition=partition)
            producer.flush()
    producer.close()
    with kafka.admin(cluster) as client:
        for n in range(GROUPS):
            topic = topics[n % TOPICS]
            at = OffsetAndMetadata(n % 2, "", -1)  # half the groups lag 1 per partition
            commits = {TopicPartition(topic, p): at for p in range(PARTITIONS)}
            client.alter_group_offsets(f"bench-group-{n}", commits)


def _raw(client) -> float:
    """The admin calls Flex makes for the list, on a plain client: ms."""
    from kafka.admin import OffsetSpec

    start = time.perf_counter()
    names = [row["group_id"] for row in client.list_groups()]
    committed = client.list_group_offsets(names)
    client.describe_groups(names)
    client.describe_topics()
    tps = {tp for offsets in committed.values() for tp in offsets}
    client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
    assert len(names) == GROUPS and len(tps) == TOPICS * PARTITIONS
    return (time.perf_counter() - start) * 1000


def _member_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from rbac.models import AccessSettings, Profile

    access = AccessSettings.load()
    access.authorized_roles = ["member"]
    access.save()
    user = get_user_model().objects.create_user(MEMBER)
    Profile.objects.create(user=user, provider="github", login=MEMBER, provider_roles=["member"])
    client = Client()
    client.force_login(user)
    return client


def _get(client, url: str, check) -> float:
    start = time.perf_counter()
    response = client.get(url)
    ms = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.status_code
    check(response)
    return ms


def measure(cluster) -> dict:
    from django.conf import settings

    from topics.kafka.client import FlexAdminClient, client_options

    # As served: no DEBUG (query logging), the test Client's host allowed.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    client = _member_client()
    page_url, api_url = f"/clusters/{cluster.key}/groups/", f"/api/clusters/{cluster.key}/groups/"

    def page_ok(response) -> None:
        assert response.content.count(b"/groups/bench-group-") == GROUPS

    def api_ok(response) -> None:
        assert len(response.json()["results"]) == GROUPS

    raw_client = FlexAdminClient(**client_options(cluster))
    times: dict[str, list[float]] = {"page": [], "api": [], "raw": []}
    try:
        _get(client, page_url, page_ok)  # warm: templates, connections
        _raw(raw_client)
        for _ in range(REPEATS):
            times["page"].append(_get(client, page_url, page_ok))
            times["api"].append(_get(client, api_url, api_ok))
            times["raw"].append(_raw(raw_client))
    finally:
        raw_client.close()
    return {
        key: {"p50": statistics.median(v), "p95": sorted(v)[int(0.95 * (len(v) - 1))]}
        for key, v in times.items()
    }


def rows(m: dict) -> list[dict]:
    what = f"{GROUPS} groups × {PARTITIONS} partitions"
    raw = m["raw"]
    out = [compared(f"raw admin calls behind the list, {what}, p50", raw["p50"], "ms")]
    for key, label in (("page", "Consumer groups page (test Client)"), ("api", "groups API")):
        out.append(compared(f"{label}, {what}, p50", m[key]["p50"], "ms", round(raw["p50"], 1)))
        out.append(
            compared(f"{label}, {what}, p95", m[key]["p95"], "ms", round(raw["p95"], 1),
                 f"< {TARGET_MS} ms", m[key]["p95"] < TARGET_MS)
        )  # fmt: skip
    return out


def main() -> list[dict]:
    from bench.scratch import broker_cluster, scratch_database

    with scratch_database("bench_flex_groups"), broker_cluster() as cluster:
        _populate(cluster)
        return rows(measure(cluster))


if __name__ == "__main__":
    run_alone(main)
