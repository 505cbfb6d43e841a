"""A world full of script payloads, built through the real paths where Flex has one.

- ``evil``: a persona whose username, first name, GitHub login, name, email, roles and
  Django group carry payloads; an authorized member and an admin.
- a topic whose name is a payload, planted on Tansu (Flex refuses such names; another
  tool, or Tansu itself, does not), with messages whose key, value and headers are payloads;
- a Deny policy naming a payload role and a payload topic;
- a cluster whose name is a payload (unreachable);
- evil's own actions through the pages: a refused create of a payload-named topic, a
  produce and a read, so the audit log holds payloads in every column it shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from rbac import engine
from rbac.models import Policy, Profile
from tests.hostile.support import XSS_IMG, XSS_SCRIPT, XSS_SVG
from topics import kafka as kafka_client
from topics.models import Cluster

ALL_TOPIC_ACTIONS = [
    "TOPIC_INSPECT",
    "TOPIC_PRODUCE",
    "TOPIC_CREATE",
    "TOPIC_EDIT",
    "TOPIC_DELETE",
    "TOPIC_TRUNCATE",
]
EVIL_ROLE = XSS_SVG + "-role"
EVIL_GROUP = XSS_SCRIPT + "-group"


@dataclass
class World:
    client: Client
    user: object
    cluster: Cluster
    topic: str  # a payload-named topic that exists on Tansu
    messages_topic: str  # a topic with a legal name whose messages are payloads
    record: AuditRecord  # evil's refused create, every column a payload
    evil_cluster: Cluster


def make_evil_user():
    user = get_user_model().objects.create_user(
        "evil" + XSS_SVG, "evil@example.com", "pw-evil", first_name=XSS_IMG
    )
    Profile.objects.create(
        user=user,
        provider="github",
        login=XSS_SCRIPT,
        name=XSS_IMG,
        email=XSS_SVG + "@evil.example",
        provider_roles=["member", "admins", EVIL_ROLE],
    )
    user.groups.add(Group.objects.create(name=EVIL_GROUP))
    return user


def build(*, cluster: Cluster, plant, suffix: str) -> World:
    """``plant(name)`` creates a topic on Tansu and removes it after the test. Flex's Kafka
    client cannot read a topic with an illegal name, so the payload messages go to one
    with a legal name."""
    Policy.objects.create(
        resource=["cluster", "*"], effect="Allow", actions=ALL_TOPIC_ACTIONS, roles=["admins"]
    )
    Policy.objects.create(
        resource=["cluster", "*", "topic", XSS_IMG],
        effect="Deny",
        actions=["TOPIC_DELETE"],
        roles=[EVIL_ROLE, EVIL_GROUP],
        description=XSS_SCRIPT,
    )
    engine.invalidate()
    evil_cluster = Cluster.objects.create(name=XSS_SCRIPT, bootstrap_servers="127.0.0.1:1")
    topic = plant(XSS_IMG + suffix)
    messages_topic = plant(f"payloads-{suffix}")
    _messages(cluster, messages_topic)
    user = make_evil_user()
    client = Client(headers={"user-agent": XSS_SCRIPT})
    client.force_login(user)
    record = _act(client, cluster, topic, messages_topic)
    return World(client, user, cluster, topic, messages_topic, record, evil_cluster)


def _messages(cluster: Cluster, topic: str) -> None:
    for key, value, headers in (
        (XSS_SCRIPT.encode(), XSS_IMG.encode(), [(XSS_SVG, XSS_SCRIPT.encode())]),
        (None, json.dumps({"html": XSS_SCRIPT, XSS_IMG: [XSS_SVG]}).encode(), []),
        (b"\xff\xfe", b"\x00\x01" + XSS_SCRIPT.encode(), [("bin", b"\xff" + XSS_IMG.encode())]),
    ):
        kafka_client.produce(cluster, topic, key=key, value=value, headers=headers)


def _act(client: Client, cluster: Cluster, topic: str, messages_topic: str) -> AuditRecord:
    """evil's own actions through the pages; returns the refused create's record."""
    refused = client.post(
        reverse("topic-create", kwargs={"cluster": cluster.key}),
        {"name": XSS_SCRIPT, "partitions": "1", "replication_factor": "1", "configs": ""},
    )
    assert refused.status_code == 400
    record = AuditRecord.objects.order_by("-ts", "-id").first()
    assert (record.login, record.resource_name) == (XSS_SCRIPT, XSS_SCRIPT)
    topic_url = {"cluster": cluster.key, "topic": topic}
    produced = client.post(
        reverse("topic-produce", kwargs=topic_url),
        {"key": XSS_SVG, "value": XSS_SCRIPT, "headers": f"x: {XSS_IMG}", "partition": ""},
    )
    assert produced.status_code == 200, produced.content[:300]
    assert produced.context["written"]["offset"] >= 0  # the page stays, with what was sent
    read = client.get(
        reverse("topic-messages", kwargs={"cluster": cluster.key, "topic": messages_topic}),
        {"mode": "latest", "limit": "50"},
    )
    assert read.status_code == 200, read.content.decode()[-2000:]
    return record
