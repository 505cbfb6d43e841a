"""On SQLite (``make run``), a policy write by another process bumps the version every server
process compares with, also after migrations that rebuilt the tables and dropped their triggers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tests.conftest import ROOT

TABLES = ("rbac_policy", "rbac_temporarypolicy", "rbac_accesssettings")


def manage(db: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "FLEX_TEST_DB_NAME": ""}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip


def version(db: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT version FROM rbac_policyversion WHERE id = 1").fetchone()[0]


def test_every_policy_table_keeps_its_triggers_on_sqlite(tmp_path):
    db = str(tmp_path / "flex.sqlite3")
    manage(db, "migrate", "-v0")
    with sqlite3.connect(db) as conn:
        triggers = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
    assert triggers >= {
        f"{t}_bump_version_{op}" for t in TABLES for op in ("insert", "update", "delete")
    }

    manage(db, "rbac_import", "rbac/samples/policies.yaml", "--replace")
    before = version(db)
    with sqlite3.connect(db) as conn:  # a write to the policies alone, as any other client's
        conn.execute("UPDATE rbac_policy SET enabled = enabled")
    assert version(db) > before  # SQLite fires per row
