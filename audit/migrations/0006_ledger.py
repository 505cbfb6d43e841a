"""The verifiable ledger: signing keys, the Merkle tree's nodes, signed checkpoints, and
each record's signature as written (existing records get none: the sink signs them).

Checkpoints and tree nodes are append-only like records and seals (the trigger function
of 0003); signing keys are not: rotation marks the old one retired.
"""

from django.db import migrations, models


APPEND_ONLY = ("audit_checkpoint", "audit_merklenode")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION flex_audit_append_only()"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_staged_status'),
    ]

    operations = [
        migrations.CreateModel(
            name='Checkpoint',
            fields=[
                ('seq', models.BigIntegerField(primary_key=True, serialize=False)),
                ('records', models.BigIntegerField()),
                ('root', models.CharField(max_length=64)),
                ('head', models.CharField(max_length=64)),
                ('ts', models.BigIntegerField()),
                ('key_id', models.CharField(max_length=16)),
                ('signature', models.CharField(max_length=100)),
                ('record_id', models.UUIDField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-seq'],
            },
        ),
        migrations.CreateModel(
            name='MerkleNode',
            fields=[
                ('pk', models.CompositePrimaryKey('level', 'position', blank=True, editable=False, primary_key=True, serialize=False)),
                ('level', models.SmallIntegerField()),
                ('position', models.BigIntegerField()),
                ('hash', models.BinaryField(max_length=32)),
            ],
        ),
        migrations.CreateModel(
            name='SigningKey',
            fields=[
                ('id', models.CharField(max_length=16, primary_key=True, serialize=False)),
                ('alg', models.CharField(default='Ed25519', max_length=20)),
                ('public_key', models.CharField(max_length=64)),
                ('created', models.DateTimeField()),
                ('retired', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['created'],
            },
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='signature',
            field=models.CharField(blank=True, db_default='', default='', max_length=100),
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='key_id',
            field=models.CharField(blank=True, db_default='', default='', max_length=16),
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='signed_sha256',
            field=models.CharField(blank=True, db_default='', default='', max_length=64),
        ),
        migrations.RunPython(forwards, backwards),
    ]
