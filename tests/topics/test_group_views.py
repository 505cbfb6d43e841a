"""The consumer-group pages, signed in through the test client, against Tansu: the list,
a group's page, a topic's groups, the reset form (preview, then confirm) and deletion."""

from __future__ import annotations

from django.urls import reverse

from audit.models import AuditRecord
from tests.topics.groups import commit, committed, new_group
from topics import kafka as kafka_client

from .conftest import last_record


def url(name: str, **kwargs) -> str:
    return reverse(name, kwargs={"cluster": "flex-test", **kwargs})


def test_the_list_shows_each_group_with_its_lag_and_links_it(client, bob, cluster, group, topic):
    response = client.get(url("group-list"), {"q": group})
    assert response.status_code == 200
    [row] = response.context["groups"]
    assert (row.group_id, row.state, row.topics, row.lag) == (group, "Empty", [topic], 5)
    assert url("group-detail", group=group).encode() in response.content


def test_the_list_sorts_by_lag(client, bob, cluster, topic):
    prefix = new_group("page")
    for name, at in ((f"{prefix}-a", 4), (f"{prefix}-b", 0)):
        commit(cluster, name, {(topic, 0): at})
    response = client.get(url("group-list"), {"q": prefix, "sort": "lag"})
    assert [g.group_id[-1] for g in response.context["groups"]] == ["b", "a"]
    assert response.context["sort"] == "lag"


def test_a_group_page_shows_offsets_and_lag_per_partition(client, bob, cluster, group, topic):
    response = client.get(url("group-detail", group=group))
    assert response.status_code == 200
    rows = response.context["detail"].offsets
    assert [(r.partition, r.committed, r.end, r.lag) for r in rows] == [(0, 2, 5, 3), (1, 1, 3, 2)]
    assert b"No active members" in response.content


def test_an_unknown_group_page_is_a_404(client, bob, cluster):
    assert client.get(url("group-detail", group=new_group("nobody"))).status_code == 404


def test_a_topic_page_lists_the_groups_that_consume_it(client, bob, cluster, group, topic):
    response = client.get(url("topic-detail", topic=topic))
    assert response.status_code == 200
    assert [(g["group_id"], g["lag"]) for g in response.context["groups"]] == [(group, 5)]
    assert url("group-detail", group=group).encode() in response.content


def test_looking_needs_an_authorized_role(client, personas, cluster, group):
    client.force_login(personas["mallory"])
    assert client.get(url("group-list")).status_code == 403
    assert client.get(url("group-detail", group=group)).status_code == 403


def test_the_reset_form_previews_the_plan_then_applies_it_once_confirmed(
    client, bob, allow, cluster, group, topic
):
    allow(["GROUP_EDIT"])
    form = {"topic": topic, "partitions": "1", "to": "latest", "value": ""}
    before = AuditRecord.objects.count()
    preview = client.post(url("group-reset", group=group), {**form, "dry_run": "1"})
    assert preview.status_code == 200
    assert preview.context["changes"] == [{"topic": topic, "partition": 1, "from": 1, "to": 3}]
    assert b'name="dry_run" value="0"' in preview.content  # the confirm form
    assert committed(cluster, group) == {(topic, 0): 2, (topic, 1): 1}
    assert last_record().event == "query/preview-group-offsets"
    applied = client.post(url("group-reset", group=group), {**form, "dry_run": "0"})
    assert applied.status_code == 302
    assert applied["Location"] == url("group-detail", group=group)
    assert committed(cluster, group) == {(topic, 0): 2, (topic, 1): 3}
    assert last_record().event == "mutation/reset-group-offsets"
    assert AuditRecord.objects.count() == before + 2


def test_the_reset_form_takes_a_time_as_iso_8601(client, bob, allow, cluster, group, topic):
    allow(["GROUP_EDIT"])
    data = {"topic": topic, "to": "timestamp", "value": "2000-01-01T00:00", "dry_run": "1"}
    response = client.post(url("group-reset", group=group), data)
    assert response.status_code == 200
    assert [c["to"] for c in response.context["changes"]] == [0, 0]


def test_a_refused_reset_shows_why_and_is_recorded(client, bob, cluster, group, topic):
    before = AuditRecord.objects.count()
    data = {"topic": topic, "to": "earliest", "dry_run": "0"}
    response = client.post(url("group-reset", group=group), data)
    assert response.status_code == 403
    assert b"Not allowed" in response.content
    assert AuditRecord.objects.count() == before + 1
    assert committed(cluster, group) == {(topic, 0): 2, (topic, 1): 1}


def test_bad_reset_input_shows_the_field_error(client, bob, allow, cluster, group, topic):
    allow(["GROUP_EDIT"])
    data = {"topic": topic, "to": "offset", "value": "soon", "dry_run": "1"}
    response = client.post(url("group-reset", group=group), data)
    assert response.status_code == 400
    assert response.context["form"].errors["value"] == ["must be a whole number"]
    assert last_record().outcome == AuditRecord.FAILED


def test_deleting_needs_the_group_id_typed(client, bob, allow, cluster, group):
    allow(["GROUP_DELETE"])
    wrong = client.post(url("group-delete", group=group), {"confirm": "nope"})
    assert wrong.status_code == 400
    assert group in {g.group_id for g in kafka_client.list_groups(cluster)}
    done = client.post(url("group-delete", group=group), {"confirm": group})
    assert done.status_code == 302 and done["Location"] == url("group-list")
    assert group not in {g.group_id for g in kafka_client.list_groups(cluster)}
    assert last_record().event == "mutation/delete-group"


def test_controls_the_user_may_not_use_are_disabled(client, bob, allow, cluster, group):
    allow(["GROUP_EDIT"])
    response = client.get(url("group-detail", group=group))
    assert response.context["can"] == {"reset": True, "delete": False}
    assert b'title="GROUP_DELETE is not allowed"' in response.content
