"""Clusters changed in Django admin are audited, secrets shown only as set or not."""

from __future__ import annotations

from django.urls import reverse

from topics.models import Cluster

from .conftest import last_record


def test_adding_a_cluster_in_admin_is_recorded_without_its_password(client, personas):
    alice = personas["alice"]
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    response = client.post(
        reverse("admin:topics_cluster_add"),
        {
            "name": "analytics",
            "bootstrap_servers": "10.0.0.1:9092",
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "PLAIN",
            "sasl_username": "flex",
            "sasl_password": "s3cret-pw",
        },
    )
    assert response.status_code == 302
    record = last_record()
    assert (record.event, record.action, record.outcome) == (
        "mutation/create-cluster",
        "ADMIN",
        "succeeded",
    )
    request = record.document["data"]["event"][1]
    assert request["after"]["bootstrap_servers"] == "10.0.0.1:9092"
    assert request["after"]["sasl_password"] in ("set", "[redacted]")
    assert "s3cret-pw" not in str(record.document)


def test_deleting_a_cluster_in_admin_is_recorded(client, personas):
    alice = personas["alice"]
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    cluster = Cluster.objects.create(name="old", bootstrap_servers="10.0.0.2:9092")
    response = client.post(
        reverse("admin:topics_cluster_delete", args=[cluster.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Cluster.objects.filter(pk=cluster.pk).exists()
    record = last_record()
    assert record.event == "mutation/delete-cluster"
    assert record.document["data"]["event"][1]["before"]["name"] == "old"
