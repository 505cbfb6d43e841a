"""The message browser through the API, on Tansu: order, cursors both ways, filters after
masking, the scan budget, the full view and downloads — each read one audit record."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from tests.datapolicy.conftest import data_policy  # noqa: F401  (fixture, reused)
from topics import kafka as kafka_client
from topics.display import SHOW_MAX_CHARS

from .conftest import last_record

BASE = "/api/clusters/flex-test/topics/"


@pytest.fixture
def reader(allow):
    allow(["TOPIC_INSPECT", "TOPIC_PRODUCE", "TOPIC_DATA_DOWNLOAD"])


def send(cluster, topic: str, value: str, *, key: str | None = None, partition=0, headers=()):
    kafka_client.produce(
        cluster,
        topic,
        key=key.encode() if key is not None else None,
        value=value.encode(),
        headers=[(n, v.encode()) for n, v in headers],
        partition=partition,
    )


def read(api, topic: str, **params) -> dict:
    response = api.get(f"{BASE}{topic}/messages/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def values(page: dict) -> list[str]:
    return [m["value"]["text"] for m in page["messages"]]


@pytest.fixture
def seven(cluster, make_topic, reader) -> str:
    name = make_topic()
    for i in range(7):
        send(cluster, name, f"m{i}")
    return name


def test_latest_is_newest_first_and_says_so(api, seven):
    page = read(api, seven, mode="latest", limit=3)
    assert values(page) == ["m6", "m5", "m4"]
    assert (page["order"], page["scanned"], page["matched"], page["partial"]) == (
        "newest first",
        3,
        3,
        False,
    )
    assert page["previous"] is None  # nothing is newer than the latest


def test_from_an_offset_is_ascending_and_says_so(api, seven):
    page = read(api, seven, mode="offset", partition=0, offset=2, limit=3)
    assert values(page) == ["m2", "m3", "m4"]
    assert page["order"] == "oldest first"


def test_pages_go_older_to_the_end_and_back_newer(api, seven):
    first = read(api, seven, mode="latest", limit=3)
    second = read(api, seven, mode="latest", limit=3, cursor=first["next"])
    third = read(api, seven, mode="latest", limit=3, cursor=second["next"])
    assert [values(p) for p in (first, second, third)] == [
        ["m6", "m5", "m4"],
        ["m3", "m2", "m1"],
        ["m0"],
    ]
    assert third["next"] is None
    back = read(api, seven, mode="latest", limit=3, cursor=second["previous"])
    assert values(back) == ["m6", "m5", "m4"]  # newer than page two, still newest first


def test_ascending_pages_go_newer_and_back_older(api, seven):
    first = read(api, seven, mode="offset", partition=0, offset=0, limit=4)
    second = read(api, seven, mode="offset", partition=0, offset=0, limit=4, cursor=first["next"])
    assert (values(first), values(second)) == (["m0", "m1", "m2", "m3"], ["m4", "m5", "m6"])
    assert second["next"] is None
    back = read(
        api, seven, mode="offset", partition=0, offset=0, limit=4, cursor=second["previous"]
    )
    assert values(back) == ["m0", "m1", "m2", "m3"]


def test_paging_over_partitions_shows_every_message_once_in_time_order(
    api, cluster, make_topic, reader
):
    name = make_topic(partitions=3)
    sent = [f"v{i:02d}" for i in range(20)]
    for i, value in enumerate(sent):
        send(cluster, name, value, partition=(i * 7) % 3)
    seen, cursor = [], None
    for _ in range(10):
        page = read(api, name, mode="latest", limit=4, **({"cursor": cursor} if cursor else {}))
        seen.extend(values(page))
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sent[::-1]


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "eyJjIjoiZmxleC10ZXN0In0:1abc:forged", ""],
    ids=["garbled", "forged", "empty-is-no-cursor"],
)
def test_a_bad_cursor_is_a_400_and_recorded(api, seven, cursor):
    before = AuditRecord.objects.count()
    response = api.get(f"{BASE}{seven}/messages/", {"mode": "latest", "cursor": cursor})
    if not cursor:  # an empty cursor is the first page
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "cursor" in response.json()["detail"]
    assert AuditRecord.objects.count() == before + 1
    assert (last_record().event, last_record().outcome) == ("query/inspect-topic-data", "failed")


def test_a_cursor_of_another_topic_is_refused(api, cluster, seven, make_topic):
    other = make_topic()
    send(cluster, other, "x")
    cursor = read(api, seven, mode="latest", limit=1)["next"]
    response = api.get(f"{BASE}{other}/messages/", {"mode": "latest", "cursor": cursor})
    assert response.status_code == 400
    assert "another topic" in response.json()["detail"]


@pytest.fixture
def orders(cluster, make_topic, reader) -> str:
    name = make_topic()
    send(cluster, name, '{"customer": {"id": "42"}, "n": 1}', key="a", headers=[("src", "web")])
    send(cluster, name, '{"customer": {"id": "7"}, "n": 2}', key="b", headers=[("src", "app")])
    send(cluster, name, "plain TEXT with 42", key="c")
    return name


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "text"}, [3]),
        ({"q": "42"}, [3, 1]),
        ({"key": "b"}, [2]),
        ({"header": "src"}, [2, 1]),
        ({"header": "src=web"}, [1]),
        ({"expr": "value.customer.id == '42'"}, [1]),
        ({"expr": 'value.customer.id == "42"'}, [1]),  # jq style: "42" is text, not a field
        ({"expr": "value.n > `1`"}, [2]),
        ({"expr": "headers.src == 'app'"}, [2]),
        ({"q": "42", "key": "a"}, [1]),
    ],
)
def test_filters_run_on_the_server(api, orders, params, expected):
    page = read(api, orders, mode="latest", **params)
    shown = [m["offset"] + 1 for m in page["messages"]]
    assert shown == expected
    assert (page["scanned"], page["matched"]) == (3, len(expected))
    request = last_record().document["data"]["event"][1]
    assert request["filters"] == {k: str(v) for k, v in params.items()}
    assert (request["scanned"], request["matched"]) == (3, len(expected))


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("value.[", "expr:"),
        ("x" * 301, "at most 300"),
    ],
)
def test_a_bad_expression_is_a_clear_400_that_is_recorded(api, orders, expr, says):
    response = api.get(f"{BASE}{orders}/messages/", {"mode": "latest", "expr": expr})
    assert response.status_code == 400
    assert says in response.json()["detail"]
    record = last_record()
    assert (record.event, record.outcome) == ("query/inspect-topic-data", "failed")


def test_the_scan_budget_stops_a_scan_and_the_next_page_goes_on(
    api, cluster, make_topic, reader, settings
):
    settings.FLEX_READ_SCAN_MAX = 5
    name = make_topic()
    send(cluster, name, "needle")
    for i in range(11):
        send(cluster, name, f"hay{i}")
    first = read(api, name, mode="latest", q="needle")
    assert (first["scanned"], first["matched"], first["partial"]) == (5, 0, True)
    assert first["next"] is not None
    second = read(api, name, mode="latest", q="needle", cursor=first["next"])
    third = read(api, name, mode="latest", q="needle", cursor=second["next"])
    assert (values(second), values(third)) == ([], ["needle"])
    assert third["scanned"] == 2 and not third["partial"]


def test_a_filter_never_matches_behind_a_mask(api, orders, data_policy):  # noqa: F811
    data_policy("Customer ids", fields=["id"], redaction="Full")
    assert read(api, orders, mode="latest", expr="value.customer.id == '42'")["messages"] == []
    page = read(api, orders, mode="latest", q="42")
    assert [m["offset"] for m in page["messages"]] == []  # the text value is masked whole too
    shown = read(api, orders, mode="latest", key="a")["messages"][0]
    assert "42" not in shown["value"]["text"] and shown["masked"]


def test_a_page_downloads_as_json_lines_recorded_as_a_download(api, orders):
    response = api.get(f"{BASE}{orders}/messages/download/", {"mode": "latest", "limit": 2})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.content.decode().splitlines()]
    assert [line["offset"] for line in lines] == [2, 1]
    assert (response["X-Scanned"], response["X-Matched"]) == ("2", "2")
    record = last_record()
    assert (record.event, record.action, record.outcome) == (
        "query/download-topic-data",
        "TOPIC_DATA_DOWNLOAD",
        "succeeded",
    )


def test_a_download_needs_its_own_action(api, cluster, make_topic, allow):
    allow(["TOPIC_INSPECT"])
    name = make_topic()
    send(cluster, name, "x")
    assert api.get(f"{BASE}{name}/messages/", {"mode": "latest"}).status_code == 200
    response = api.get(f"{BASE}{name}/messages/download/", {"mode": "latest"})
    assert response.status_code == 403
    assert (last_record().event, last_record().outcome) == ("query/download-topic-data", "denied")


def test_downloads_are_masked(api, orders, data_policy):  # noqa: F811
    data_policy("Customer ids", fields=["id"], redaction="Full")
    response = api.get(f"{BASE}{orders}/messages/download/", {"mode": "latest", "key": "a"})
    assert b'"42"' not in response.content and b"********" in response.content


def test_one_message_page_shows_its_whole_value_and_downloads_it(
    client, bob, cluster, make_topic, reader
):
    name = make_topic()
    long_value = "x" * (SHOW_MAX_CHARS + 10)
    send(cluster, name, "short")
    send(cluster, name, long_value)
    kwargs = {"cluster": "flex-test", "topic": name, "partition": 0, "offset": 1}

    listing = reverse("topic-messages", kwargs={"cluster": "flex-test", "topic": name})
    listed = client.get(listing, {"mode": "latest"})
    assert any(m["value"]["truncated"] for m in listed.context["messages_read"])
    full = client.get(reverse("message-detail", kwargs=kwargs))
    assert full.status_code == 200
    assert full.context["message"]["value"]["text"] == long_value
    assert not full.context["message"]["value"]["truncated"]
    assert last_record().event == "query/inspect-topic-data"

    download = client.get(reverse("message-download", kwargs=kwargs))
    assert download.status_code == 200
    [line] = download.content.decode().splitlines()
    assert json.loads(line)["value"]["text"] == long_value
    assert last_record().event == "query/download-topic-data"


def test_one_message_that_is_not_there_says_so(client, bob, cluster, make_topic, reader):
    name = make_topic()
    send(cluster, name, "only")
    kwargs = {"cluster": "flex-test", "topic": name, "partition": 0, "offset": 9}
    page = client.get(reverse("message-detail", kwargs=kwargs))
    assert page.status_code == 200 and page.context["message"] is None
    assert "No message at partition 0, offset 9" in page.content.decode()


def test_messages_larger_than_the_byte_bound_allows_at_once_still_page(
    api, cluster, make_topic, reader, monkeypatch
):
    """A chunk over the byte bound is fetched again in halves instead of stalling."""
    from topics.kafka import messages

    monkeypatch.setattr(messages, "READ_MAX_BYTES", 2500)  # about two of these at a time
    name = make_topic()
    for i in range(6):
        send(cluster, name, f"{i}" + "x" * 1000)
    page = read(api, name, mode="latest", limit=6)
    assert [v[0] for v in values(page)] == ["5", "4", "3", "2", "1", "0"]
    assert (page["scanned"], page["partial"]) == (6, False)
