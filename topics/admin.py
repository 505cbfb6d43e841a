from __future__ import annotations

from django import forms
from django.contrib import admin

from topics.models import Cluster


class ClusterForm(forms.ModelForm):
    """Secrets are write-only: never rendered; a blank field keeps the stored one."""

    sasl_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="leave blank to keep",
    )
    ssl_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="leave blank to keep",
    )

    class Meta:
        model = Cluster
        fields = [
            "name",
            "bootstrap_servers",
            "security_protocol",
            "sasl_mechanism",
            "sasl_username",
            "sasl_password",
            "ssl_cafile",
            "ssl_certfile",
            "ssl_keyfile",
            "ssl_password",
        ]

    def clean(self) -> dict:
        data = super().clean()
        for field in Cluster.SECRET_FIELDS:
            if not data.get(field) and self.instance.pk:
                data[field] = getattr(self.instance, field)
        return data


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterForm
    list_display = (
        "name",
        "kafka_cluster_id",
        "bootstrap_servers",
        "security_protocol",
        "is_primary",
    )
    readonly_fields = ("kafka_cluster_id", "is_primary")
