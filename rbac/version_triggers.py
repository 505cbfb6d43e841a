"""Triggers that bump the policy version row on every write to a table.

Each process compares the (version, token) it compiled its policies at with the single
``rbac_policyversion`` row, so a write by anyone (the ORM, an import, psql) reaches every
process. Migrations call this module: what it emits for a table must not change once a
migration has used it. The PostgreSQL function the triggers call is migration 0002's.

On SQLite a migration that rebuilds a table (AlterField does) drops its triggers: it must end
with ``bumps_version`` for that table again (as 0006 does for ``rbac_policy``).
"""

from __future__ import annotations

from functools import partial

from django.db import migrations

SQLITE_OPERATIONS = ("insert", "update", "delete")


def _statements(vendor: str, table: str) -> tuple[list[str], list[str]]:
    """The (install, remove) statements for ``table`` on ``vendor``; none elsewhere."""
    trigger = f"{table}_bump_version"
    if vendor == "postgresql":
        drop = f"DROP TRIGGER IF EXISTS {trigger} ON {table}"
        create = f"""
        CREATE TRIGGER {trigger}
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION rbac_policy_bump_version()
        """
        return [drop, create], [drop]
    if vendor == "sqlite":
        install = [
            f"""
            CREATE TRIGGER IF NOT EXISTS {trigger}_{op}
            AFTER {op.upper()} ON {table}
            BEGIN
                INSERT INTO rbac_policyversion (id, version, token) VALUES (1, 1, random())
                ON CONFLICT (id) DO UPDATE SET version = version + 1, token = random();
            END
            """
            for op in SQLITE_OPERATIONS
        ]
        return install, [f"DROP TRIGGER IF EXISTS {trigger}_{op}" for op in SQLITE_OPERATIONS]
    return [], []


def install(schema_editor, table: str) -> None:
    for statement in _statements(schema_editor.connection.vendor, table)[0]:
        schema_editor.execute(statement)


def remove(schema_editor, table: str) -> None:
    for statement in _statements(schema_editor.connection.vendor, table)[1]:
        schema_editor.execute(statement)


def bumps_version(table: str) -> migrations.RunPython:
    """A migration operation: writes to ``table`` bump the policy version from now on."""
    return migrations.RunPython(partial(_forward, table=table), partial(_backward, table=table))


def _forward(apps, schema_editor, *, table: str) -> None:
    install(schema_editor, table)


def _backward(apps, schema_editor, *, table: str) -> None:
    remove(schema_editor, table)
