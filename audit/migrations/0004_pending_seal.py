"""The sealer gets its own queue: ``PendingSeal`` instead of ``Delivery`` rows with sink "chain".

Pending ``chain`` rows become pending seals, failed ones (records the sealer refused)
refused seals with their reason; every ``chain`` row then leaves the outbox (delivered
ones too: a sealed record's seal is its proof). Backwards, the rows come back, and each
sealed record gets a delivered ``chain`` row again.
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARDS = """
INSERT INTO audit_pendingseal (record_id, refused_at, reason)
SELECT record_id,
       CASE WHEN status = 'failed' THEN COALESCE(last_attempt_at, next_attempt_at) END,
       CASE WHEN status = 'failed' THEN last_error ELSE '' END
FROM audit_delivery
WHERE sink = 'chain' AND status IN ('pending', 'failed');
DELETE FROM audit_delivery WHERE sink = 'chain';
"""

BACKWARDS = """
INSERT INTO audit_delivery
    (record_id, sink, status, attempts, next_attempt_at, last_attempt_at, delivered_at, last_error)
SELECT p.record_id, 'chain',
       CASE WHEN p.refused_at IS NULL THEN 'pending' ELSE 'failed' END,
       CASE WHEN p.refused_at IS NULL THEN 0 ELSE 1 END,
       r.ts, p.refused_at, NULL, p.reason
FROM audit_pendingseal p JOIN audit_auditrecord r ON r.id = p.record_id;
INSERT INTO audit_delivery
    (record_id, sink, status, attempts, next_attempt_at, last_attempt_at, delivered_at, last_error)
SELECT s.record_id, 'chain', 'delivered', 1, s.record_ts, s.sealed_at, s.sealed_at, ''
FROM audit_auditseal s;
DELETE FROM audit_pendingseal;
"""


def _run(sql):
    def run(apps, schema_editor):
        for statement in sql.strip().split(";\n"):
            if statement.strip():
                schema_editor.execute(statement.strip().rstrip(";"))

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only")]

    operations = [
        migrations.CreateModel(
            name="PendingSeal",
            fields=[
                (
                    "record",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="pending_seal",
                        serialize=False,
                        to="audit.auditrecord",
                    ),
                ),
                ("refused_at", models.DateTimeField(blank=True, null=True)),
                ("reason", models.TextField(blank=True)),
            ],
        ),
        migrations.RunPython(_run(FORWARDS), _run(BACKWARDS)),
    ]
