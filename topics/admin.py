from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.gate import ctx_from_request, record_event
from rbac.roles import actor_for_user
from topics.models import Cluster

AUDITED_FIELDS = (
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
)


def cluster_snapshot(cluster: Cluster | None) -> dict | None:
    """The cluster's settings for an audit record; a secret shows only whether it is set."""
    if cluster is None:
        return None
    data = {field: getattr(cluster, field) for field in AUDITED_FIELDS}
    for field in Cluster.SECRET_FIELDS:
        data[field] = "set" if data[field] else None
    return data


def record_cluster_change(
    request: HttpRequest, event: str, cluster: Cluster, before: dict | None, after: dict | None
) -> None:
    """One audit record per cluster added, changed or deleted in Django admin."""
    record_event(
        actor=actor_for_user(request.user),
        type="mutation/request",
        event=event,
        request={"cluster-name": cluster.name, "before": before, "after": after},
        ctx=ctx_from_request(request, via="admin", cluster_id=cluster.key),
        action="ADMIN",
        resource=["cluster", cluster.key],
    )


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

    def save_model(self, request: HttpRequest, obj: Cluster, form, change: bool) -> None:
        before = cluster_snapshot(Cluster.objects.filter(pk=obj.pk).first()) if change else None
        super().save_model(request, obj, form, change)
        event = "mutation/edit-cluster" if change else "mutation/create-cluster"
        record_cluster_change(request, event, obj, before, cluster_snapshot(obj))

    def delete_model(self, request: HttpRequest, obj: Cluster) -> None:
        before = cluster_snapshot(obj)
        super().delete_model(request, obj)
        record_cluster_change(request, "mutation/delete-cluster", obj, before, None)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for cluster in queryset:
            self.delete_model(request, cluster)
