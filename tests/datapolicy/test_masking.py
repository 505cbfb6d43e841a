"""The masking engine on message bytes: fields at any depth, fallbacks, roles, exclusions."""

from __future__ import annotations

import json

from datapolicy.masking import compile_plan
from datapolicy.models import DataPolicy

CARD = DataPolicy(
    name="Credit Card",
    category="PII",
    resources=[["cluster", "*", "topic", "*", "value"]],
    redaction="ShowLast4",
    policy_type="non-scalar",
    fields=["credit_card", "pan"],
    unmask_roles=["fraud-team"],
)
EMAIL = DataPolicy(
    name="Email",
    resources=[["cluster", "*", "topic", "users-*"]],
    redaction="ShowEmailHost",
    policy_type="non-scalar",
    fields=["email"],
)
KEYS = DataPolicy(
    name="Keys",
    resources=[["cluster", "flex-test", "topic", "*", "key"]],
    redaction="ShowFirst2",
    policy_type="scalar",
)


def plan(*policies, topic="orders", roles=("member",), excluded=(), cluster="flex-test"):
    return compile_plan(policies, excluded, cluster_id=cluster, topic=topic, roles=roles)


def value_of(masked) -> object:
    return json.loads(masked.value)


def test_it_masks_named_fields_in_objects_nested_in_lists_and_maps():
    value = {
        "order": {"pan": "4111111111111111", "lines": [{"credit_card": "5500000000000004"}]},
        "by_id": {"a": {"pan": "340000000000009"}},
        "note": "pan",
    }
    masked = plan(CARD).mask(None, json.dumps(value).encode(), [])
    assert value_of(masked) == {
        "order": {"pan": "************1111", "lines": [{"credit_card": "************0004"}]},
        "by_id": {"a": {"pan": "***********0009"}},
        "note": "pan",
    }
    assert {m.path for m in masked.marks} == {
        "order.pan",
        "order.lines[*].credit_card",
        "by_id.a.pan",
    }
    assert {m.policy for m in masked.marks} == {"Credit Card"}
    assert masked.covered == {"value"}


def test_a_field_masked_in_every_item_of_a_list_is_one_mark_with_its_count():
    value = {"lines": [{"pan": "4111111111111111"}, {"pan": "5500000000000004"}, {"qty": 1}]}
    reader = plan(CARD)
    masked = reader.mask(None, json.dumps(value).encode(), [])
    assert value_of(masked)["lines"][1] == {"pan": "************0004"}
    assert masked.marks == (("value", "lines[*].pan", "Credit Card", 2),)
    assert reader.applied()[0]["masked"] == 2  # the record counts occurrences
    assert json.loads(masked.indented["value"]) == value_of(masked)


def test_numbers_beyond_64_bits_and_nan_survive_masking_exactly():
    value = b'{"id": 123456789012345678901234567890, "ratio": NaN, "pan": "4111111111111111"}'
    masked = plan(CARD).mask(None, value, [])
    assert masked.value == (
        b'{"id":123456789012345678901234567890,"ratio":NaN,"pan":"************1111"}'
    )
    assert "123456789012345678901234567890" in masked.indented["value"]


def test_it_fully_redacts_a_field_holding_an_object_or_a_list():
    value = {"pan": {"number": "4111111111111111"}, "credit_card": ["4111111111111111"]}
    masked = plan(CARD).mask(None, json.dumps(value).encode(), [])
    assert value_of(masked) == {"pan": "********", "credit_card": "********"}


def test_it_masks_numbers_as_their_text_and_leaves_null():
    masked = plan(CARD).mask(None, b'{"pan": 4111111111111111, "credit_card": null}', [])
    assert value_of(masked) == {"pan": "************1111", "credit_card": None}


def test_a_value_that_is_not_json_is_fully_redacted_under_a_field_policy():
    masked = plan(CARD).mask(b"k1", b"pan=4111111111111111", [])
    assert masked.value == b"********"
    assert masked.key == b"k1"  # the policy names the value only
    assert masked.covered == {"value"}


def test_binary_under_a_field_policy_is_fully_redacted():
    masked = plan(CARD).mask(None, b"\x00\x01\xff4111111111111111", [])
    assert masked.value == b"********"


def test_a_scalar_policy_masks_the_whole_key_by_its_redaction():
    masked = plan(KEYS).mask(b"customer-42", b'{"pan": "x"}', [])
    assert masked.key == b"cu*********"
    assert masked.value == b'{"pan": "x"}'  # KEYS covers keys only


def test_a_scalar_policy_fully_redacts_json_objects():
    scalar_value = DataPolicy(
        name="Whole",
        resources=[["cluster", "*", "topic", "*", "value"]],
        redaction="ShowLast4",
        policy_type="scalar",
    )
    masked = plan(scalar_value).mask(None, b'{"a": "John Smith"}', [])
    assert masked.value == b"********"
    masked = plan(scalar_value).mask(None, b'"John Smith"', [])
    assert masked.value == b"******mith"


def test_a_reader_holding_an_unmask_role_sees_the_clear_value():
    reader = plan(CARD, roles=("member", "fraud-team"))
    value = b'{"pan": "4111111111111111"}'
    masked = reader.mask(None, value, [])
    assert masked.value == value
    assert masked.marks == ()
    assert reader.saw_unmasked
    assert reader.applied() == [{"name": "Credit Card", "category": "PII", "masked": 0, "clear": 1}]


def test_an_excluded_topic_is_never_masked():
    reader = plan(CARD, KEYS, topic="tx_meta", excluded=["tx_meta"])
    masked = reader.mask(b"customer-42", b'{"pan": "4111111111111111"}', [])
    assert (masked.key, masked.value) == (b"customer-42", b'{"pan": "4111111111111111"}')
    assert not reader.active


def test_topic_globs_and_clusters_choose_the_policies():
    assert plan(EMAIL, topic="users-eu").active
    assert not plan(EMAIL, topic="orders").active
    assert not plan(KEYS, cluster="other").active
    assert plan(KEYS, cluster=None).active  # the sandbox: any cluster


def test_headers_are_masked_by_name_and_inside_json_values():
    headers = [("email", b"johnsmith@corp.org"), ("ctx", b'{"email": "a@b.org"}'), ("trace", b"t1")]
    masked = plan(EMAIL, topic="users-eu").mask(None, None, headers)
    assert masked.headers[0] == ("email", b"*********@corp.org")
    assert json.loads(masked.headers[1][1]) == {"email": "*@b.org"}
    assert masked.headers[2] == ("trace", b"t1")
    assert masked.covered == {"header:0", "header:1"}


def test_the_first_masking_policy_in_file_order_wins_a_field():
    full_pan = DataPolicy(
        name="Full PAN",
        resources=[["cluster", "*", "topic", "*", "value"]],
        redaction="Full",
        policy_type="non-scalar",
        fields=["pan"],
    )
    masked = plan(full_pan, CARD).mask(None, b'{"pan": "4111111111111111"}', [])
    assert value_of(masked) == {"pan": "********"}
    # A policy the reader may see through does not stop a later one from masking.
    masked = plan(CARD, full_pan, roles=("fraud-team",)).mask(None, b'{"pan": "4111"}', [])
    assert value_of(masked) == {"pan": "********"}


def test_deep_nesting_is_hidden_rather_than_crashing():
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    masked = plan(CARD).mask(None, deep, [])
    assert masked.value == b"********"
