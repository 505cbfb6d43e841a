"""Spreadsheet formulas in every cell a user controls, exported as CSV.

A persona whose login, name and email start like a formula tries to create a topic whose
name does too; in both exports (Audit log, User log) no cell may start with ``=``, ``+``,
``-``, ``@``, tab or CR: each such cell is written with a leading ``'``.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from rbac.models import Profile
from tests.hostile.support import CSV_FORMULAS, body_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def formula_user(personas, grant, cluster, suffix):
    """Returns a function: the persona for one formula, signed in, after a refused create."""

    grant()

    def make(formula: str) -> tuple[Client, AuditRecord, dict]:
        user = get_user_model().objects.create_user(f"f-{suffix}", password="pw")
        cells = {
            "user login": f"{formula}-{suffix}",
            "name": formula,
            "email": f"{formula}@example.com",
        }
        Profile.objects.create(
            user=user,
            provider="github",
            login=cells["user login"],
            name=cells["name"],
            email=cells["email"],
            provider_roles=["member", "platform"],
        )
        client = Client()
        client.force_login(user)
        response = client.post(
            reverse("topic-create", kwargs={"cluster": cluster.key}),
            {"name": f"{formula}{suffix}", "partitions": "0", "replication_factor": "1"},
        )
        assert response.status_code == 400, response.content.decode()[-1500:]
        record = AuditRecord.objects.order_by("-ts", "-id").first()
        assert record.login == cells["user login"]
        return client, record, cells

    return make


def _rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(body_text(response), newline="")))


def _assert_neutralised(rows: list[dict], record: AuditRecord, cells: dict) -> None:
    [row] = [r for r in rows if r["id"] == str(record.id)]
    for column, value in cells.items():
        assert row[column] == "'" + value, (column, row[column])
    if record.resource_name.startswith(FORMULA_STARTS):
        assert row["resource"] == "'" + record.resource_name
    for r in rows:
        for column, cell in r.items():
            assert not (cell or "").startswith(FORMULA_STARTS), (column, cell)


@pytest.mark.parametrize("formula", CSV_FORMULAS, ids=repr)
def test_the_audit_log_export_neutralises_formula_cells(formula_user, personas, formula):
    _, record, cells = formula_user(formula)
    admin = Client()
    admin.force_login(personas["alice"])
    _assert_neutralised(_rows(admin.get(reverse("audit-log-export"))), record, cells)


@pytest.mark.parametrize("formula", CSV_FORMULAS, ids=repr)
def test_the_user_log_export_neutralises_formula_cells(formula_user, formula):
    client, record, cells = formula_user(formula)
    _assert_neutralised(_rows(client.get(reverse("user-log-export"))), record, cells)
