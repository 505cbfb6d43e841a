"""The Produce page keeps its values after a send, fills from a JSON template, and shows the
partition and offset written."""

from __future__ import annotations

import json

from audit.models import AuditRecord

from .conftest import last_record
from .test_views import url


def test_the_form_keeps_its_values_and_shows_where_the_message_went(client, bob, allow, make_topic):
    allow(["TOPIC_PRODUCE", "TOPIC_INSPECT"])
    name = make_topic(partitions=2)
    sent = {"key": "order-7", "value": '{"id": 7}', "headers": "trace: t-9", "partition": "1"}

    first = client.post(url("topic-produce", topic=name), sent)
    second = client.post(url("topic-produce", topic=name), sent)

    assert (first.status_code, second.status_code) == (200, 200)
    assert (second.context["written"]["partition"], second.context["written"]["offset"]) == (1, 1)
    form = second.context["form"]
    assert {field: form[field].value() for field in sent} == sent
    body = second.content.decode()
    assert "Produced to partition 1 at offset 1." in body
    assert "mode=offset&amp;partition=1&amp;offset=1" in body  # "Read it"
    assert f'href="{url("topic-produce", topic=name)}">Clear</a>' in body
    assert last_record().event == "mutation/produce"


def test_a_json_template_fills_the_form_and_sends_nothing(client, bob, allow, make_topic):
    allow(["TOPIC_PRODUCE"])
    name = make_topic()
    before = AuditRecord.objects.count()
    template = {
        "key": "k",
        "value": {"customer": {"id": "42"}},
        "headers": {"h": "v"},
        "partition": 0,
    }

    response = client.get(url("topic-produce", topic=name), {"template": json.dumps(template)})

    assert response.status_code == 200
    form = response.context["form"]
    assert form["key"].value() == "k"
    assert json.loads(form["value"].value()) == {"customer": {"id": "42"}}
    assert (form["headers"].value(), form["partition"].value()) == ("h: v", "0")
    assert AuditRecord.objects.count() == before


def test_a_bad_template_is_a_400_naming_the_problem(client, bob, allow, make_topic):
    allow(["TOPIC_PRODUCE"])
    name = make_topic()
    for bad, says in (
        ("{not json", "not valid JSON"),
        ("[1]", "must be a JSON object"),
        ('{"colour": 1}', "unknown fields colour"),
        ('{"headers": {"h": 1}}', "headers must be an object"),
        ("x" * 9000, "at most 8192 characters"),
    ):
        response = client.get(url("topic-produce", topic=name), {"template": bad})
        assert response.status_code == 400, bad
        assert says in response.content.decode(), bad
