# Triggers by hand: writes to the access settings bump the policy version row too.

from django.db import migrations

# The function of migration 0002. Each process keeps the access settings beside its compiled
# policies (rbac.engine), so a change to them reaches every process as a policy change does.
POSTGRES_INSTALL = [
    "DROP TRIGGER IF EXISTS rbac_accesssettings_bump_version ON rbac_accesssettings",
    """
    CREATE TRIGGER rbac_accesssettings_bump_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rbac_accesssettings
    FOR EACH STATEMENT EXECUTE FUNCTION rbac_policy_bump_version()
    """,
]
POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS rbac_accesssettings_bump_version ON rbac_accesssettings",
]
SQLITE_OPERATIONS = ("insert", "update", "delete")
SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS rbac_accesssettings_bump_version_{op}
    AFTER {op.upper()} ON rbac_accesssettings
    BEGIN
        INSERT INTO rbac_policyversion (id, version, token) VALUES (1, 1, random())
        ON CONFLICT (id) DO UPDATE SET version = version + 1, token = random();
    END
    """
    for op in SQLITE_OPERATIONS
]
SQLITE_REMOVE = [
    f"DROP TRIGGER IF EXISTS rbac_accesssettings_bump_version_{op}" for op in SQLITE_OPERATIONS
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement)


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_INSTALL)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_INSTALL)


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_REMOVE)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_REMOVE)


class Migration(migrations.Migration):
    dependencies = [
        ("rbac", "0004_temporary_policy"),
    ]

    operations = [
        migrations.RunPython(install_triggers, remove_triggers),
    ]
