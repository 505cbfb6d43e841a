"""The decision table: policies stored as rows, decided through ``rbac.decide``."""
# ruff: noqa: E501  (one table row per line reads best)

from __future__ import annotations

import ast
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import rbac as bench_rbac
from rbac import engine
from rbac.actions import equivalents
from rbac.engine import compile_policies, decide, holds, resource_covers
from rbac.models import Policy

SEED = "Enpl9Kw4QK6pwK0LaRVssQ"
T = ["cluster", "c1", "topic"]

# fmt: off
# name -> (resource, effect, actions, roles[, enabled])
POLICIES: dict[str, tuple] = {
    # The seed's sample policy: no TOPIC_CREATE in it.
    "seed": (["cluster", SEED], "Allow", ["TOPIC_INSPECT", "TOPIC_EDIT", "TOPIC_PRODUCE"], ["*"]),
    "dev_topics": (["cluster", "*", "topic", "*"], "Allow", ["TOPIC_CREATE", "TOPIC_DELETE"], ["dev"]),
    "ops_no_delete": (["cluster", "*", "topic", "*"], "Deny", ["TOPIC_DELETE"], ["ops"]),
    "tx_prefix": (["cluster", "*", "topic", "tx-*"], "Allow", ["TOPIC_PRODUCE"], ["dev"]),
    "events_suffix": (["cluster", "c1", "topic", "*-events"], "Allow", ["TOPIC_INSPECT"], ["analyst"]),
    "orders_exact": (["cluster", "c1", "topic", "orders"], "Allow", ["TOPIC_EDIT"], ["owner"]),
    "c1_create": (["cluster", "c1"], "Allow", ["TOPIC_CREATE"], ["admin", "ops"]),
    "c2_no_create": (["cluster", "c2"], "Deny", ["TOPIC_CREATE"], ["*"]),
    "data_query": (["cluster", "*", "topic", "*"], "Allow", ["TOPIC_DATA_QUERY"], ["reader"]),
    "inspect_all": (["cluster", "*"], "Allow", ["TOPIC_INSPECT"], ["*"]),
    "no_secrets": (["cluster", "*", "topic", "secret-*"], "Deny", ["TOPIC_INSPECT"], ["*"]),
    "stage_truncate": (["cluster", "*"], "Stage", ["TOPIC_TRUNCATE"], ["*"]),
    "ops_truncate": (["cluster", "*"], "Allow", ["TOPIC_TRUNCATE"], ["ops"]),
    "off_delete": (["cluster", "*"], "Allow", ["TOPIC_DELETE"], ["*"], False),
    "off_deny_edit": (["cluster", "*"], "Deny", ["TOPIC_EDIT"], ["*"], False),
    "edit_any": (["cluster", "*"], "Allow", ["TOPIC_EDIT"], ["dev", "ops"]),
    "cluster_c1_wide": (["cluster", "c1"], "Allow", ["TOPIC_PRODUCE"], ["ops"]),
}

# (id, policies, roles, action, resource, allowed, decided_by, matched)
CASES = [
    # The seed's sample: granting INSPECT, EDIT, PRODUCE says nothing about CREATE.
    ("seed_denies_create", ["seed"], ["member"], "TOPIC_CREATE", ["cluster", SEED, "topic", "tx-events"], False, None, []),
    ("seed_allows_edit", ["seed"], ["member"], "TOPIC_EDIT", ["cluster", SEED, "topic", "tx-events"], True, "seed", ["seed"]),
    ("seed_other_cluster", ["seed"], ["member"], "TOPIC_EDIT", ["cluster", "other", "topic", "x"], False, None, []),
    ("seed_cluster_level", ["seed"], ["member"], "TOPIC_INSPECT", ["cluster", SEED], True, "seed", ["seed"]),
    # Deny beats Allow, across two of the user's roles, whichever comes first.
    ("deny_beats_allow_two_roles", ["dev_topics", "ops_no_delete"], ["dev", "ops"], "TOPIC_DELETE", T + ["a"], False, "ops_no_delete", ["dev_topics", "ops_no_delete"]),
    ("deny_first_beats_allow", ["ops_no_delete", "dev_topics"], ["ops", "dev"], "TOPIC_DELETE", T + ["a"], False, "ops_no_delete", ["ops_no_delete", "dev_topics"]),
    ("allow_with_one_role", ["dev_topics", "ops_no_delete"], ["dev"], "TOPIC_DELETE", T + ["a"], True, "dev_topics", ["dev_topics"]),
    ("deny_only_role", ["dev_topics", "ops_no_delete"], ["ops"], "TOPIC_DELETE", T + ["a"], False, "ops_no_delete", ["ops_no_delete"]),
    # A Deny of TOPIC_DELETE says nothing about TOPIC_CREATE.
    ("deny_other_action_irrelevant", ["dev_topics", "ops_no_delete"], ["dev", "ops"], "TOPIC_CREATE", T + ["a"], True, "dev_topics", ["dev_topics"]),
    # `*` cluster.
    ("star_cluster_any_id", ["dev_topics"], ["dev"], "TOPIC_CREATE", ["cluster", "zz9", "topic", "a"], True, "dev_topics", ["dev_topics"]),
    ("star_cluster_covers_cluster", ["inspect_all"], ["x"], "TOPIC_INSPECT", ["cluster", "zz9"], True, "inspect_all", ["inspect_all"]),
    ("topic_policy_not_cluster", ["dev_topics"], ["dev"], "TOPIC_CREATE", ["cluster", "c1"], False, None, []),
    # Prefix glob.
    ("prefix_matches", ["tx_prefix"], ["dev"], "TOPIC_PRODUCE", T + ["tx-events"], True, "tx_prefix", ["tx_prefix"]),
    ("prefix_matches_bare_prefix", ["tx_prefix"], ["dev"], "TOPIC_PRODUCE", T + ["tx-"], True, "tx_prefix", ["tx_prefix"]),
    ("prefix_no_match", ["tx_prefix"], ["dev"], "TOPIC_PRODUCE", T + ["ptx-events"], False, None, []),
    ("prefix_case_sensitive", ["tx_prefix"], ["dev"], "TOPIC_PRODUCE", T + ["TX-events"], False, None, []),
    # Suffix glob.
    ("suffix_matches", ["events_suffix"], ["analyst"], "TOPIC_INSPECT", T + ["tx-events"], True, "events_suffix", ["events_suffix"]),
    ("suffix_no_match", ["events_suffix"], ["analyst"], "TOPIC_INSPECT", T + ["events-tx"], False, None, []),
    ("suffix_wrong_cluster", ["events_suffix"], ["analyst"], "TOPIC_INSPECT", ["cluster", "c2", "topic", "tx-events"], False, None, []),
    # Exact names.
    ("exact_matches", ["orders_exact"], ["owner"], "TOPIC_EDIT", T + ["orders"], True, "orders_exact", ["orders_exact"]),
    ("exact_no_prefix_match", ["orders_exact"], ["owner"], "TOPIC_EDIT", T + ["orders-v2"], False, None, []),
    # Cluster-level policies cover that cluster's topics.
    ("cluster_policy_covers_topics", ["c1_create"], ["ops"], "TOPIC_CREATE", T + ["new"], True, "c1_create", ["c1_create"]),
    ("cluster_policy_other_cluster", ["c1_create"], ["ops"], "TOPIC_CREATE", ["cluster", "c2", "topic", "new"], False, None, []),
    ("deny_cluster_star_role", ["c1_create", "c2_no_create"], ["ops"], "TOPIC_CREATE", ["cluster", "c2", "topic", "x"], False, "c2_no_create", ["c2_no_create"]),
    # No match -> deny.
    ("no_policies", [], ["admin"], "TOPIC_CREATE", T + ["a"], False, None, []),
    ("no_roles_no_star", ["dev_topics"], [], "TOPIC_CREATE", T + ["a"], False, None, []),
    # Role `*` is anyone, even someone with no roles.
    ("star_role_no_roles", ["inspect_all"], [], "TOPIC_INSPECT", T + ["a"], True, "inspect_all", ["inspect_all"]),
    ("star_role_any_role", ["inspect_all"], ["whoever"], "TOPIC_INSPECT", T + ["a"], True, "inspect_all", ["inspect_all"]),
    ("star_deny_beats_star_allow", ["inspect_all", "no_secrets"], ["x"], "TOPIC_INSPECT", T + ["secret-keys"], False, "no_secrets", ["inspect_all", "no_secrets"]),
    ("star_deny_other_topic", ["inspect_all", "no_secrets"], ["x"], "TOPIC_INSPECT", T + ["public"], True, "inspect_all", ["inspect_all"]),
    # Action not in the policy's list.
    ("action_not_in_list", ["tx_prefix"], ["dev"], "TOPIC_DELETE", T + ["tx-a"], False, None, []),
    ("action_not_in_list_star", ["inspect_all"], ["dev"], "TOPIC_PRODUCE", T + ["a"], False, None, []),
    # Disabled policies are ignored, Allow and Deny alike.
    ("disabled_allow_ignored", ["off_delete"], ["dev"], "TOPIC_DELETE", T + ["a"], False, None, []),
    ("disabled_deny_ignored", ["off_deny_edit", "edit_any"], ["dev"], "TOPIC_EDIT", T + ["a"], True, "edit_any", ["edit_any"]),
    # Unknown roles match nothing.
    ("unknown_role", ["dev_topics", "edit_any"], ["nobody-knows"], "TOPIC_CREATE", T + ["a"], False, None, []),
    ("unknown_and_known_role", ["dev_topics"], ["nobody-knows", "dev"], "TOPIC_CREATE", T + ["a"], True, "dev_topics", ["dev_topics"]),
    # Stage does not allow (it stages), and Deny still wins over it.
    ("stage_alone_never_allows", ["stage_truncate"], ["ops"], "TOPIC_TRUNCATE", T + ["a"], False, "stage_truncate", ["stage_truncate"]),
    ("stage_with_allow_still_refuses", ["stage_truncate", "ops_truncate"], ["ops"], "TOPIC_TRUNCATE", T + ["a"], False, "stage_truncate", ["stage_truncate", "ops_truncate"]),
    ("allow_without_stage_role", ["ops_truncate"], ["ops"], "TOPIC_TRUNCATE", T + ["a"], True, "ops_truncate", ["ops_truncate"]),
    # TOPIC_DATA_QUERY and TOPIC_INSPECT are one action.
    ("data_query_decides_inspect", ["data_query"], ["reader"], "TOPIC_INSPECT", T + ["a"], True, "data_query", ["data_query"]),
    ("inspect_decides_data_query", ["inspect_all"], ["reader"], "TOPIC_DATA_QUERY", T + ["a"], True, "inspect_all", ["inspect_all"]),
    ("inspect_deny_blocks_data_query", ["data_query", "no_secrets"], ["reader"], "TOPIC_DATA_QUERY", T + ["secret-x"], False, "no_secrets", ["data_query", "no_secrets"]),
    ("data_query_not_produce", ["data_query"], ["reader"], "TOPIC_PRODUCE", T + ["a"], False, None, []),
    # Several allows: all reported, the first decides.
    ("two_allows_reported", ["edit_any", "orders_exact"], ["ops", "owner"], "TOPIC_EDIT", T + ["orders"], True, "edit_any", ["edit_any", "orders_exact"]),
    ("cluster_wide_and_prefix", ["cluster_c1_wide", "tx_prefix"], ["ops", "dev"], "TOPIC_PRODUCE", T + ["tx-1"], True, "cluster_c1_wide", ["cluster_c1_wide", "tx_prefix"]),
]
# fmt: on


def _store(names: list[str]) -> dict[str, dict]:
    records = {}
    for position, name in enumerate(names):
        resource, effect, actions, roles, *rest = POLICIES[name]
        policy = Policy(
            resource=resource,
            effect=effect,
            actions=actions,
            roles=roles,
            enabled=rest[0] if rest else True,
            position=position,
        )
        policy.full_clean()
        policy.save()
        records[name] = policy.as_record()
    return records


@pytest.mark.parametrize(
    "names, roles, action, resource, allowed, decided_by, matched",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_it_decides(db, names, roles, action, resource, allowed, decided_by, matched):
    records = _store(names)
    decision = decide(roles, action, resource)
    assert decision.success is allowed
    assert decision.action == action
    assert decision.decided_by == (records[decided_by] if decided_by else None)
    assert decision.policies == [records[name] for name in matched]


def test_the_table_has_at_least_forty_cases():
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)


def test_the_record_has_the_seed_shape(db):
    records = _store(["seed"])
    decision = decide(["member"], "TOPIC_EDIT", ["cluster", SEED])
    assert decision.as_record() == {
        "success?": True,
        "action": "TOPIC_EDIT",
        "policies": [records["seed"]],
    }
    assert records["seed"] == {
        "resource": ["cluster", SEED],
        "role": "*",
        "effect": "Allow",
        "actions": ["TOPIC_INSPECT", "TOPIC_EDIT", "TOPIC_PRODUCE"],
    }


def test_the_record_is_a_copy_callers_may_change(db):
    _store(["seed"])
    first = decide(["member"], "TOPIC_EDIT", ["cluster", SEED]).as_record()
    first["policies"][0]["resource"].append("tampered")
    again = decide(["member"], "TOPIC_EDIT", ["cluster", SEED]).as_record()
    assert again["policies"][0]["resource"] == ["cluster", SEED]


def test_it_sees_a_change_made_in_this_process_at_once(db, make_policy):
    target = ["cluster", "c1", "topic", "t"]
    assert not decide(["dev"], "TOPIC_CREATE", target).success
    policy = make_policy(["cluster", "*"], "Allow", ["TOPIC_CREATE"], ["dev"])
    assert decide(["dev"], "TOPIC_CREATE", target).success
    Policy.objects.filter(pk=policy.pk).update(enabled=False)
    assert not decide(["dev"], "TOPIC_CREATE", target).success


def test_a_string_role_is_one_role_not_its_letters(db, make_policy):
    make_policy(["cluster", "*"], "Allow", ["TOPIC_CREATE"], ["d"])
    assert not decide("dev", "TOPIC_CREATE", ["cluster", "c1"]).success


def test_a_malformed_resource_is_denied_not_raised(db, make_policy):
    make_policy(["cluster", "*"], "Allow", ["TOPIC_CREATE"], ["*"])
    decision = decide(["dev"], "TOPIC_CREATE", ["cluster", ["c1"]])
    assert decision.success is False


def _plain_scan(policies: list[Policy], roles, action, resource) -> list[dict]:
    """What the index must find: every policy checked one by one, in order."""
    names = equivalents(action)
    return [
        p.as_record()
        for p in policies
        if p.enabled
        and ("*" in p.roles or set(p.roles) & set(roles))
        and set(p.actions) & names
        and resource_covers(p.resource, resource)
    ]


def test_the_index_and_the_cache_agree_with_a_plain_scan():
    policies = [
        Policy(resource=r, effect=e, actions=a, roles=ro, enabled=rest[0] if rest else True)
        for r, e, a, ro, *rest in POLICIES.values()
    ]
    compiled = compile_policies(policies)
    for _, _, roles, action, resource, *_ in CASES:
        cached = compiled.decide(roles, action, resource)
        assert cached.policies == _plain_scan(policies, roles, action, resource)
        assert compiled.evaluate(roles, action, resource) == cached
        assert compiled.decide(roles, action, resource) is cached


def test_the_index_agrees_with_a_plain_scan_on_random_policies():
    rng = random.Random(4)
    policies = bench_rbac.make_policies(400, rng)
    for policy in policies[::7]:
        policy.enabled = False
    compiled = compile_policies(policies)
    queries = bench_rbac.make_queries(rng)[:600]
    queries += [(r, a, ("cluster", res[1])) for r, a, res in queries[:100]]
    matched = 0
    for roles, action, resource in queries:
        expected = _plain_scan(policies, roles, action, resource)
        decision = compiled.evaluate(roles, action, resource)
        assert decision.policies == expected, (roles, action, resource)
        effects = {record["effect"] for record in expected}
        assert decision.success == (effects == {"Allow"})
        matched += bool(expected)
    assert matched > 100


# The index against a brute-force reference: every policy checked with resource_covers and
# holds, decided by the documented rules. Names come from a small alphabet so that exact
# names, prefixes and suffixes collide often.
REF_ROLES = ["dev", "ops", "team-1", "team-2", "team-12", "reader"]
REF_ACTIONS = ["TOPIC_INSPECT", "TOPIC_DATA_QUERY", "TOPIC_DELETE", "GROUP_EDIT", "TOPIC_CREATE"]
REF_CLUSTERS = ["c1", "c2", "*"]
REF_KINDS = ["topic", "group"]
REF_NAMES = ["tx", "tx-a", "tx-a-events", "team-1-x", "team-12-y", "a-events", "orders", "", "*x"]


def _random_name(rng: random.Random) -> str:
    return rng.choice(REF_NAMES) + rng.choice(["", "", "-events", "-1", "x"])


def _random_resource(rng: random.Random) -> list[str]:
    cluster = rng.choice(REF_CLUSTERS)
    if rng.random() < 0.2:
        return ["cluster", cluster]
    name = _random_name(rng)
    pattern = rng.choice(
        [
            "*",
            name,
            name[: rng.randint(1, max(1, len(name)))] + "*",
            "*" + name[rng.randint(0, len(name)) :],
        ]
    )
    return ["cluster", cluster, rng.choice(REF_KINDS), pattern or "orders"]


def _random_policy(rng: random.Random, pk: int) -> SimpleNamespace:
    roles = ["*"] if rng.random() < 0.1 else rng.sample(REF_ROLES, rng.choice((1, 1, 2, 3)))
    return SimpleNamespace(
        pk=pk,
        resource=_random_resource(rng),
        effect=rng.choice(["Allow", "Allow", "Allow", "Deny", "Stage"]),
        actions=rng.sample(REF_ACTIONS, rng.choice((1, 2, 3))),
        roles=roles,
        enabled=rng.random() > 0.1,
    )


def _random_query(rng: random.Random) -> tuple:
    roles = rng.sample([*REF_ROLES, "*", "stranger"], rng.choice((0, 1, 2, 3)))
    action = rng.choice([*REF_ACTIONS, "TOPIC_PRODUCE"])
    cluster = rng.choice(["c1", "c2", "c3", "*"])
    if rng.random() < 0.15:
        return roles, action, ["cluster", cluster]
    return roles, action, ["cluster", cluster, rng.choice(REF_KINDS), _random_name(rng)]


def _reference(policies, roles, action, resource) -> tuple[list, str | None]:
    """The matching policies' ids in order, and the deciding effect, by scanning them all."""
    names = equivalents(action)
    matched = [
        p
        for p in policies
        if p.enabled
        and holds(roles, p.roles)
        and not names.isdisjoint(p.actions)
        and resource_covers(p.resource, resource)
    ]
    effects = [p.effect for p in matched]
    decided = next((e for e in ("Deny", "Stage", "Allow") if e in effects), None)
    return [p.pk for p in matched], decided


def _assert_agrees(compiled, policies, queries) -> int:
    matched = 0
    for roles, action, resource in queries:
        ids, effect = _reference(policies, roles, action, resource)
        decision = compiled.evaluate(roles, action, resource)
        assert list(decision.policy_ids) == ids, (roles, action, resource)
        assert decision.effect == effect, (roles, action, resource)
        assert decision.success is (effect == "Allow")
        assert len(decision.policies) == len(ids)
        if effect:
            first = next(i for i, p in enumerate(decision.policies) if p["effect"] == effect)
            assert decision.decided_index == first
        assert decision == compiled.decide(roles, action, resource)
        matched += bool(ids)
    return matched


@pytest.mark.parametrize("seed, size, count", [(1, 50, 3000), (2, 400, 2000), (3, 3000, 400)])
def test_the_index_decides_as_a_brute_force_scan_does(seed, size, count):
    rng = random.Random(seed)
    policies = [_random_policy(rng, pk) for pk in range(size)]
    compiled = compile_policies(policies)
    queries = [_random_query(rng) for _ in range(count)]
    matched = _assert_agrees(compiled, policies, queries)
    assert matched > count // 4  # the policies and queries overlap enough to test something


def test_the_index_decides_as_a_scan_on_policies_loaded_from_the_database(db):
    rng = random.Random(7)
    policies = [_random_policy(rng, pk) for pk in range(300)]
    Policy.objects.bulk_create(
        Policy(
            resource=p.resource,
            effect=p.effect,
            actions=p.actions,
            roles=p.roles,
            enabled=p.enabled,
            position=position,
        )
        for position, p in enumerate(policies)
    )
    stored = list(Policy.objects.order_by("position"))
    loaded = engine.current_policy_set()
    assert len(loaded) == sum(p.enabled for p in stored)
    queries = [_random_query(rng) for _ in range(1500)]
    assert _assert_agrees(loaded, stored, queries) > 300
    decision = loaded.evaluate(*queries[0])
    assert [p.as_record() for p in stored if p.pk in decision.policy_ids] == decision.policies


def test_group_resources_are_their_own_kind():
    compiled = compile_policies(
        [SimpleNamespace(pk=1, resource=["cluster", "*", "group", "tx-*"], effect="Allow",
                         actions=["GROUP_EDIT"], roles=["dev"], enabled=True)]
    )  # fmt: skip
    assert compiled.evaluate(["dev"], "GROUP_EDIT", ["cluster", "c1", "group", "tx-1"]).success
    assert not compiled.evaluate(["dev"], "GROUP_EDIT", ["cluster", "c1", "topic", "tx-1"]).success


@pytest.mark.parametrize(
    "resource",
    [
        ["cluster", ["c1"]],
        ["cluster", "c1", "topic", ["tx"]],
        ["cluster", "c1", "topic", 5],
        ["cluster", None],
        "cluster/c1",
        ["cluster"],
        [],
        None,
        5,
    ],
)
def test_a_malformed_target_is_denied_by_every_path(resource):
    compiled = compile_policies(
        [SimpleNamespace(pk=1, resource=["cluster", "*"], effect="Allow",
                         actions=["TOPIC_CREATE"], roles=["*"], enabled=True)]
    )  # fmt: skip
    for decide_with in (compiled.evaluate, compiled.decide):
        decision = decide_with(["dev"], "TOPIC_CREATE", resource)
        assert decision.success is False
        assert decision.policies == []
    assert compiled.evaluate([["dev"]], "TOPIC_CREATE", ["cluster", "c1"]).success is False
    assert compiled.evaluate(["dev"], ["TOPIC_CREATE"], ["cluster", "c1"]).success is False


def test_allows_somewhere_agrees_with_a_scan():
    rng = random.Random(11)
    policies = [_random_policy(rng, pk) for pk in range(300)]
    compiled = compile_policies(policies)
    for roles, action, resource in (_random_query(rng) for _ in range(500)):
        expected = any(
            p.enabled
            and p.effect in ("Allow", "Stage")  # a staged action is offered too
            and not equivalents(action).isdisjoint(p.actions)
            and holds(roles, p.roles)
            and p.resource[1] in ("*", resource[1])
            for p in policies
        )
        assert compiled.allows_somewhere(roles, action, resource[1]) is expected


def test_models_and_the_engine_do_not_import_each_other_in_a_cycle():
    root = Path(__file__).resolve().parents[2] / "rbac"
    for module in ("models.py", "index.py", "staleness.py"):
        tree = ast.parse((root / module).read_text())
        imported = {
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert "rbac.engine" not in imported, module
        assert not any("engine" in name for name in imported if name), module


# Odd strings a policy may carry (imported files, psql): quotes, backslashes, non-ASCII, and
# the very separator the aggregate load splits rows on, inside a name.
ODD_NAMES = ['a"b', "back\\slash", "tab\there", "ünï-çødé", 'x],\n["y', "new\nline-*"]


def _odd_policies() -> list[Policy]:
    rng = random.Random(5)
    policies = [_random_policy(rng, pk) for pk in range(200)]
    for n, name in enumerate(ODD_NAMES):
        policies[n].resource = ["cluster", "*", "topic", name]
        policies[n].roles = [name, "dev"]
    return Policy.objects.bulk_create(
        Policy(
            resource=p.resource,
            effect=p.effect,
            actions=p.actions,
            roles=p.roles,
            enabled=p.enabled,
            position=position % 50,  # ties in position: id orders them
        )
        for position, p in enumerate(policies)
    )


def test_the_aggregate_load_reads_what_the_portable_load_reads(db):
    _odd_policies()
    aggregated, portable = engine._load_aggregated(), engine._load_portable()
    assert len(aggregated) == len(portable) > 100
    assert [list(row) for row in aggregated] == [list(row) for row in portable]
    # Each row read again from the text, for the records built on first use.
    assert [aggregated.source(order) for order in range(len(aggregated))] == list(aggregated)
    Policy.objects.all().delete()
    assert engine._load_aggregated() == [] == engine._load_portable()
    assert len(engine.load_policy_set()) == 0


def test_records_built_on_first_use_are_the_policies_records(db):
    stored = {p.pk: p for p in _odd_policies()}
    loaded = engine.load_policy_set()
    rng = random.Random(9)
    queries = [_random_query(rng) for _ in range(400)]
    queries += [(["dev"], "TOPIC_INSPECT", T + [name]) for name in ODD_NAMES]
    decided = 0
    for query in queries:
        decision = loaded.evaluate(*query)
        assert decision.policies == [stored[pk].as_record() for pk in decision.policy_ids]
        if decision.effect:
            decided += 1
            assert decision.decided_by is decision.policies[decision.decided_index]
    assert decided > 50
    # The same record objects are shared by later decisions and by ``policies``.
    by_id = {p.id: p.record for p in loaded.policies}
    again = loaded.evaluate(*queries[0])
    assert all(
        by_id[pk] is record for pk, record in zip(again.policy_ids, again.policies, strict=True)
    )
    assert [p.id for p in loaded.policies] == [
        p.pk for p in sorted(stored.values(), key=lambda p: (p.position, p.pk)) if p.enabled
    ]
    assert all(p.record == stored[p.id].as_record() for p in loaded.policies)
    assert all(p.resource == tuple(stored[p.id].resource) for p in loaded.policies)


def test_a_compiled_set_does_not_change_with_the_objects_it_was_compiled_from():
    policy = SimpleNamespace(pk=1, resource=["cluster", "*"], effect="Allow",
                             actions=["TOPIC_CREATE"], roles=["dev"], enabled=True)  # fmt: skip
    compiled = compile_policies([policy])
    policy.roles.append("ops")
    policy.resource[1] = "c9"
    assert not compiled.evaluate(["ops"], "TOPIC_CREATE", ["cluster", "c1"]).success
    assert compiled.evaluate(["dev"], "TOPIC_CREATE", ["cluster", "c1"]).policies == [
        {
            "resource": ["cluster", "*"],
            "role": "dev",
            "effect": "Allow",
            "actions": ["TOPIC_CREATE"],
        }
    ]


def test_a_policy_set_built_from_compiled_policies_decides_alike():
    rng = random.Random(12)
    policies = [_random_policy(rng, pk) for pk in range(300)]
    compiled = compile_policies(policies)
    rebuilt = engine.PolicySet(compiled.policies)
    assert len(rebuilt) == len(compiled) and rebuilt.policies == compiled.policies
    queries = [_random_query(rng) for _ in range(800)]
    assert _assert_agrees(rebuilt, policies, queries) > 200
    for query in queries[:200]:
        assert rebuilt.evaluate(*query) == compiled.evaluate(*query)


def test_policies_for_agrees_with_a_scan():
    rng = random.Random(13)
    policies = [_random_policy(rng, pk) for pk in range(200)]
    compiled = compile_policies(policies)
    for roles in (["dev"], ["ops", "team-1"], [], ["stranger"]):
        expected = [p.pk for p in policies if p.enabled and holds(roles, p.roles)]
        assert [p.id for p in compiled.policies_for(roles)] == expected
