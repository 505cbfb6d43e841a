"""Importing the console's data-policy format: unchanged files import, all or nothing,
errors name what is wrong, and every import is one audit record with before and after."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditRecord
from datapolicy.models import DataPolicy, DataPolicySettings
from datapolicy.yaml_io import DataPolicyFileError, export_text, import_text
from tests.topics.conftest import last_record

CONSOLE_FILE = """
policies:
  - name: Credit Card
    category: PII
    resources:
      - ["cluster", "*", "topic", "*", "value"]
    redaction: ShowLast4
    type: non-scalar
    fields: [credit_card, creditcard, pan]
    unmask_roles: [fraud-team]
  - name: Customer keys
    resources:
      - - cluster
        - "*"
        - topic
        - "tx-*"
        - key
    redaction: SHAHash
    type: scalar
exclusions:
  topics: [tx_meta]
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(DataPolicyFileError) as caught:
        import_text(text)
    return caught.value.errors


def test_the_consoles_file_imports_unchanged_and_is_recorded(db):
    result = import_text(CONSOLE_FILE)
    assert result.added == 2
    card = DataPolicy.objects.get(name="Credit Card")
    assert card.fields == ["credit_card", "creditcard", "pan"]
    assert card.unmask_roles == ["fraud-team"]
    assert DataPolicy.objects.get(name="Customer keys").resources == [
        ["cluster", "*", "topic", "tx-*", "key"]
    ]
    assert DataPolicySettings.load().excluded_topics == ["tx_meta"]
    record = last_record()
    assert record.document["data"]["event"][0] == "mutation/edit-data-policies"
    request = record.document["data"]["event"][1]
    assert request["change"] == "import"
    assert request["before"]["policies"] == []
    assert [p["name"] for p in request["after"]["policies"]] == ["Credit Card", "Customer keys"]


def test_export_round_trips(db):
    import_text(CONSOLE_FILE)
    exported = export_text()
    import_text(exported, replace=True)
    assert export_text().split("\n", 1)[1] == exported.split("\n", 1)[1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("redaction: ShowLast4", 'policies[0].redaction: unknown redaction "ShowLast5"'),
        ('- ["cluster", "*", "topic", "*", "value"]', 'part "body"'),
        ("type: non-scalar", 'policies[0].type: unknown type "vector"'),
        ("category: PII", 'policies[0].unknown key "colour"'),
    ],
)
def test_one_bad_policy_changes_nothing_and_the_error_names_it(db, change, message):
    broken = {
        "redaction: ShowLast4": "redaction: ShowLast5",
        '- ["cluster", "*", "topic", "*", "value"]': '- ["cluster", "*", "topic", "*", "body"]',
        "type: non-scalar": "type: vector",
        "category: PII": "colour: red",
    }[change]
    before = AuditRecord.objects.count()
    errors = _errors(CONSOLE_FILE.replace(change, broken))
    assert any(message in error for error in errors), errors
    assert DataPolicy.objects.count() == 0
    assert DataPolicySettings.load().excluded_topics == []
    assert AuditRecord.objects.count() == before + 1
    record = last_record()
    assert record.outcome == AuditRecord.FAILED
    assert message in record.document["data"]["response"]["error"]


def test_every_error_is_listed(db):
    errors = _errors(
        "policies:\n  - name: a\n    resources: [[cluster, '*']]\n    redaction: Nope\n"
        "    type: non-scalar\nexclusions: {topics: ['a*b']}\nextra: 1\n"
    )
    text = "\n".join(errors)
    for expected in ("must be [", "unknown redaction", "must name the fields", "a*b", '"extra"'):
        assert expected in text


def test_a_yaml_error_says_where(db):
    assert "line 3, column 1" in _errors("policies:\n  - [unclosed\n")[0]


def test_without_replace_a_policy_of_the_same_name_is_replaced(db):
    import_text(CONSOLE_FILE)
    result = import_text(CONSOLE_FILE.replace("ShowLast4", "Full"))
    assert (result.added, result.replaced) == (0, 2)
    assert DataPolicy.objects.get(name="Credit Card").redaction == "Full"


def test_the_commands_import_and_export(db, tmp_path, capsys):
    path = tmp_path / "data.yaml"
    path.write_text(CONSOLE_FILE)
    call_command("data_policy_import", str(path))
    assert DataPolicy.objects.count() == 2
    call_command("data_policy_export")
    assert "Credit Card" in capsys.readouterr().out
    path.write_text(CONSOLE_FILE.replace("ShowLast4", "Bogus"))
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("data_policy_import", str(path), "--replace")
    assert DataPolicy.objects.get(name="Credit Card").redaction == "ShowLast4"
