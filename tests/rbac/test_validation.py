"""One validation, wherever a policy enters: every error names the field and the bad value."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from rbac.models import Policy
from rbac.validation import check_policy, resource_errors, target_errors

GOOD = {
    "resource": ["cluster", "*", "topic", "tx-*"],
    "effect": "Allow",
    "actions": ["TOPIC_INSPECT"],
    "role": "*",
}


@pytest.mark.parametrize(
    "change, field, value",
    [
        ({"resource": ["cluster"]}, "resource", '["cluster"]'),
        ({"resource": ["cluster", "*", "topic"]}, "resource", '["cluster", "*", "topic"]'),
        ({"resource": ["broker", "*"]}, "resource", '"broker"'),
        ({"resource": ["cluster", "*", "schema", "s"]}, "resource", '"schema"'),
        ({"resource": ["cluster", "*", "group", "a*b"]}, "resource", 'group name "a*b"'),
        ({"resource": ["cluster", "*", "group", ""]}, "resource", "group name is empty"),
        ({"resource": ["cluster", "*", "topic", "a*b"]}, "resource", '"a*b"'),
        ({"resource": ["cluster", "*", "topic", "*a*"]}, "resource", '"*a*"'),
        ({"resource": ["cluster", "*", "topic", ""]}, "resource", "empty"),
        ({"resource": ["cluster", "c*"]}, "resource", '"c*"'),
        ({"resource": ["cluster", 42]}, "resource", "42"),
        ({"resource": "cluster/*"}, "resource", '"cluster/*"'),
        ({"effect": "Permit"}, "effect", '"Permit"'),
        ({"effect": "allow"}, "effect", '"allow"'),
        ({"actions": ["TOPIC_NUKE"]}, "actions", '"TOPIC_NUKE"'),
        ({"actions": []}, "actions", "[]"),
        ({"actions": "TOPIC_INSPECT"}, "actions", '"TOPIC_INSPECT"'),
        ({"role": ""}, "role", '""'),
        ({"role": ["a", "b"]}, "role", '["a", "b"]'),
        ({"actionz": ["TOPIC_INSPECT"]}, "actionz", "unknown field"),
    ],
)
def test_each_error_names_the_field_and_the_value(change, field, value):
    _, errors = check_policy({**GOOD, **change})
    assert errors, f"{change} should be refused"
    messages = [str(error) for error in errors if error.field == field]
    assert messages, errors
    assert any(value in message for message in messages), messages
    assert all(message.startswith(f"{field}: ") for message in messages)


def test_empty_roles_are_refused_with_their_value():
    data = {**GOOD}
    data.pop("role")
    _, errors = check_policy({**data, "roles": []})
    assert [str(e) for e in errors] == ["roles: [] must name at least one"]


def test_a_policy_without_a_role_is_refused():
    data = {key: value for key, value in GOOD.items() if key != "role"}
    _, errors = check_policy(data)
    assert [e.field for e in errors] == ["roles"]


def test_role_and_roles_together_are_refused():
    _, errors = check_policy({**GOOD, "roles": ["dev"]})
    assert [e.field for e in errors] == ["roles"]
    assert 'role "*" and roles ["dev"]' in errors[0].message


@pytest.mark.parametrize("name", ["*", "tx-*", "*-events", "orders", "a.b_c-d"])
def test_it_accepts_topic_name_patterns(name):
    cleaned, errors = check_policy({**GOOD, "resource": ["cluster", "*", "topic", name]})
    assert errors == []
    assert cleaned["resource"][3] == name


@pytest.mark.parametrize("name", ["*", "team-*", "*-consumers", "billing"])
def test_it_accepts_consumer_group_name_patterns(name):
    cleaned, errors = check_policy({**GOOD, "resource": ["cluster", "c1", "group", name]})
    assert errors == []
    assert cleaned["resource"] == ["cluster", "c1", "group", name]


def test_a_data_policy_resource_names_topics_only():
    assert resource_errors(["cluster", "*", "topic", "t"]) == []
    [problem] = resource_errors(["cluster", "*", "group", "g"])
    assert '"group" where "topic" belongs' in problem


def test_a_group_target_is_a_target():
    assert target_errors(["cluster", "c1", "group", "g"]) == []
    assert target_errors(["cluster", "c1", "broker", "1"]) != []


def test_it_accepts_both_role_forms_and_stage():
    one, errors_one = check_policy(GOOD)
    many, errors_many = check_policy(
        {**{k: v for k, v in GOOD.items() if k != "role"}, "roles": ["a", "b"], "effect": "Stage"}
    )
    assert errors_one == errors_many == []
    assert one["roles"] == ["*"]
    assert many["roles"] == ["a", "b"]


def test_every_catalogue_action_is_accepted():
    from rbac.actions import CATALOGUE

    _, errors = check_policy({**GOOD, "actions": list(CATALOGUE)})
    assert errors == []
    assert "KSQLDB_INSERT" in CATALOGUE and "TOPIC_DATA_QUERY" in CATALOGUE


def test_the_model_refuses_the_same_errors_by_field(db):
    policy = Policy(
        resource=["cluster", "*", "topic", "a*b"],
        effect="Permit",
        actions=["TOPIC_NUKE"],
        roles=["dev"],
    )
    with pytest.raises(ValidationError) as info:
        policy.full_clean()
    errors = info.value.message_dict
    assert set(errors) >= {"resource", "effect", "actions"}
    assert any('"a*b"' in message for message in errors["resource"])
    assert any('"TOPIC_NUKE"' in message for message in errors["actions"])
    assert Policy.objects.count() == 0
