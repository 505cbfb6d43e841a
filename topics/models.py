from __future__ import annotations

from django.conf import settings
from django.db import models


class Cluster(models.Model):
    """A Kafka cluster Flex administers. The primary one comes from KAFKA_BOOTSTRAP_SERVERS."""

    PROTOCOLS = [(p, p) for p in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")]
    MECHANISMS = [(m, m) for m in ("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")]
    SECRET_FIELDS = ("sasl_password", "ssl_password")

    name = models.CharField(max_length=100, unique=True)
    bootstrap_servers = models.CharField(max_length=500)
    is_primary = models.BooleanField(default=False, editable=False)
    security_protocol = models.CharField(max_length=16, choices=PROTOCOLS, default="PLAINTEXT")
    sasl_mechanism = models.CharField(max_length=16, choices=MECHANISMS, blank=True)
    sasl_username = models.CharField(max_length=200, blank=True)
    sasl_password = models.CharField(max_length=500, blank=True)
    ssl_cafile = models.CharField(max_length=500, blank=True, help_text="path on the Flex host")
    ssl_certfile = models.CharField(max_length=500, blank=True)
    ssl_keyfile = models.CharField(max_length=500, blank=True)
    ssl_password = models.CharField(max_length=500, blank=True)
    kafka_cluster_id = models.CharField(
        max_length=100,
        blank=True,
        editable=False,
        help_text="discovered with describe_cluster",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        """How URLs name the cluster: its Kafka id once known, its name before."""
        return self.kafka_cluster_id or self.name

    def client_config(self) -> dict:
        """kafka-python connection settings (secrets included: never render this).

        kafka-python takes the SASL user and password as ``sasl_plain_*`` for PLAIN and
        SCRAM alike. Host names stay checked (kafka-python's default) with a CA file too.
        """
        config: dict = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism and self.security_protocol.startswith("SASL_"):
            config.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        for field in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_password"):
            if getattr(self, field):
                config[field] = getattr(self, field)
        return config


# The primary cluster's connection, field by field, from the setting that names it.
PRIMARY_FIELDS = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "security_protocol": "KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "KAFKA_SASL_MECHANISM",
    "sasl_username": "KAFKA_SASL_USERNAME",
    "sasl_password": "KAFKA_SASL_PASSWORD",
    "ssl_cafile": "KAFKA_SSL_CAFILE",
    "ssl_certfile": "KAFKA_SSL_CERTFILE",
    "ssl_keyfile": "KAFKA_SSL_KEYFILE",
}


def primary_settings() -> dict[str, str]:
    """The primary cluster's connection fields as the environment gives them."""
    return {field: getattr(settings, name) or "" for field, name in PRIMARY_FIELDS.items()}


def primary_cluster() -> Cluster:
    """The cluster named by KAFKA_BOOTSTRAP_SERVERS and the KAFKA_SECURITY_* / SASL / SSL
    settings, created or updated to match them (one query when nothing changed)."""
    cluster = Cluster.objects.filter(is_primary=True).first()
    wanted = primary_settings()
    if cluster is None:
        name = "primary"
        if Cluster.objects.filter(name=name).exists():
            name = "primary (environment)"
        return Cluster.objects.create(name=name, is_primary=True, **wanted)
    changed = [field for field, value in wanted.items() if getattr(cluster, field) != value]
    if changed:
        for field in changed:
            setattr(cluster, field, wanted[field])
        if "bootstrap_servers" in changed:  # another address may be another cluster
            cluster.kafka_cluster_id = ""
            changed.append("kafka_cluster_id")
        cluster.save(update_fields=changed)
    return cluster
