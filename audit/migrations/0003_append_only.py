"""PostgreSQL refuses UPDATE and DELETE of audit records, seals and anchors.

The one exception is DELETE inside a transaction that set ``flex.audit_purge`` to
``on`` with SET LOCAL: that is ``audit_purge`` (audit/chain.py). UPDATE is never allowed.
Other databases (the SQLite file of ``make run``) get no trigger.
"""

from django.db import migrations

TABLES = ("audit_auditrecord", "audit_auditseal", "audit_auditanchor")

FUNCTION = """
CREATE OR REPLACE FUNCTION flex_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('flex.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Records leave only through manage.py audit_purge.';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION flex_audit_append_only()"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS flex_audit_append_only()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_outbox_and_chain")]

    operations = [migrations.RunPython(forwards, backwards)]
