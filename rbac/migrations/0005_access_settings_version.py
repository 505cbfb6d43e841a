# Triggers by hand: writes to the access settings bump the policy version row too.

from django.db import migrations

from rbac.version_triggers import bumps_version


class Migration(migrations.Migration):
    """Each process keeps the access settings beside its compiled policies (rbac.engine), so
    a change to them reaches every process as a policy change does."""

    dependencies = [
        ("rbac", "0004_temporary_policy"),
    ]

    operations = [
        bumps_version("rbac_accesssettings"),
    ]
