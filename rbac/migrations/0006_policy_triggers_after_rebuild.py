# By hand. On SQLite, AlterField rebuilds a table (create, copy, drop, rename) and its triggers
# go with the old one: 0003 and 0004 rebuilt rbac_policy, so from then on a write to the policies
# by another process (``manage.py rbac_import`` beside ``make run``) bumped no version and the
# server kept deciding on the old set. This puts the triggers back (PostgreSQL's were kept;
# recreating them there is harmless). A later migration that alters rbac_policy, rbac_temporarypolicy
# or rbac_accesssettings must end with bumps_version for that table too.

from django.db import migrations

from rbac.version_triggers import bumps_version


class Migration(migrations.Migration):
    dependencies = [
        ("rbac", "0005_access_settings_version"),
    ]

    operations = [
        bumps_version("rbac_policy"),
    ]
