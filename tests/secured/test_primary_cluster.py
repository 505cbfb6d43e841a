"""The primary Cluster row follows KAFKA_BOOTSTRAP_SERVERS and the TLS/SASL settings."""

from __future__ import annotations

from topics.models import Cluster, primary_cluster


def _secured(settings) -> None:
    settings.KAFKA_BOOTSTRAP_SERVERS = "kafka-1.example.com:9093"
    settings.KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
    settings.KAFKA_SASL_MECHANISM = "SCRAM-SHA-256"
    settings.KAFKA_SASL_USERNAME = "flex"
    settings.KAFKA_SASL_PASSWORD = "pw"
    settings.KAFKA_SSL_CAFILE = "/etc/flex/ca.pem"
    settings.KAFKA_SSL_CERTFILE = "/etc/flex/client.pem"
    settings.KAFKA_SSL_KEYFILE = "/etc/flex/client.key"


def test_it_is_created_with_the_environments_security_settings(settings, db):
    _secured(settings)
    cluster = primary_cluster()
    cluster.refresh_from_db()
    assert (cluster.security_protocol, cluster.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-256")
    assert (cluster.sasl_username, cluster.sasl_password) == ("flex", "pw")
    assert cluster.client_config() == {
        "bootstrap_servers": ["kafka-1.example.com:9093"],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "flex",
        "sasl_plain_password": "pw",
        "ssl_cafile": "/etc/flex/ca.pem",
        "ssl_certfile": "/etc/flex/client.pem",
        "ssl_keyfile": "/etc/flex/client.key",
    }


def test_a_security_change_keeps_the_cluster_id_and_an_address_change_clears_it(settings, db):
    _secured(settings)
    Cluster.objects.filter(pk=primary_cluster().pk).update(kafka_cluster_id="abc")
    settings.KAFKA_SASL_PASSWORD = "rotated"
    cluster = Cluster.objects.get(pk=primary_cluster().pk)
    assert (cluster.sasl_password, cluster.kafka_cluster_id) == ("rotated", "abc")
    settings.KAFKA_BOOTSTRAP_SERVERS = "kafka-2.example.com:9093"
    cluster = Cluster.objects.get(pk=primary_cluster().pk)
    assert (cluster.bootstrap_servers, cluster.kafka_cluster_id) == ("kafka-2.example.com:9093", "")


def test_it_reads_once_and_writes_nothing_when_nothing_changed(
    settings, db, django_assert_num_queries
):
    _secured(settings)
    primary_cluster()
    with django_assert_num_queries(1):
        primary_cluster()


def test_sasl_options_are_left_out_without_a_sasl_protocol(settings, db):
    _secured(settings)
    settings.KAFKA_SECURITY_PROTOCOL = "SSL"
    config = primary_cluster().client_config()
    assert "sasl_mechanism" not in config and "sasl_plain_password" not in config
    assert config["security_protocol"] == "SSL"
