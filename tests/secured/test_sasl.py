"""SASL settings reach every Kafka client Flex builds, over TLS.

Tansu 0.6 checks SCRAM credentials with ``--authentication`` but keeps users only in its
storage, and this build has memory storage alone: a user can be created only on a broker
that does not authenticate (``tansu user create`` is itself refused as NotAuthenticated
when it does). So no sign-in can succeed here. What is proved instead is on the wire: the
TLS proxy logs what passes it decrypted (``socat -v``), and each client Flex builds — the
admin client, the producer and consumer of produce and read, the audit producer — opens
with a SCRAM-SHA-512 handshake carrying the configured user, and Flex answers a refused
sign-in with ``cluster_unavailable``, not a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka import errors as kerrors

from topics import kafka
from topics.models import Cluster, primary_cluster

from .conftest import SecuredBroker, point_at, reset_kafka_clients

USER, PASSWORD = "sasl-user", "pw with spaces & symbols"


@pytest.fixture(scope="module")
def sasl_broker(pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    """A TLS-only broker that demands SASL (SCRAM); its proxy logs the decrypted traffic."""
    with SecuredBroker(
        pki,
        tmp_path_factory.mktemp("sasl"),
        cluster_id="flex-sasl",
        tansu_args=("--authentication",),
        dump=True,
    ) as broker:
        yield broker


@pytest.fixture
def sasl_cluster(settings, sasl_broker: SecuredBroker, db: None) -> Iterator[Cluster]:
    point_at(
        settings,
        sasl_broker,
        "SASL_SSL",
        KAFKA_SSL_CAFILE=str(sasl_broker.pki.ca),
        KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        KAFKA_SASL_USERNAME=USER,
        KAFKA_SASL_PASSWORD=PASSWORD,
    )
    settings.KAFKA_TIMEOUT_MS = 1000
    yield primary_cluster()
    reset_kafka_clients()


def test_the_primary_cluster_takes_tls_and_sasl_from_the_environment(sasl_cluster):
    config = sasl_cluster.client_config()
    assert config["security_protocol"] == "SASL_SSL"
    assert config["ssl_cafile"].endswith("ca.pem")
    assert (config["sasl_mechanism"], config["sasl_plain_username"]) == ("SCRAM-SHA-512", USER)
    assert config["sasl_plain_password"] == PASSWORD
    # Producers and consumers are built from these options.
    assert kafka.client_options(sasl_cluster).items() >= config.items()


def _admin(client, cluster: Cluster) -> None:
    response = client.get(f"/api/clusters/{cluster.key}/topics/")
    assert response.status_code == 503
    assert response.json()["error"] == "cluster_unavailable"


# The broker knows no users: each sign-in is refused, and the client gives up within the timeout.


def _producer(client, cluster: Cluster) -> None:
    with pytest.raises(kerrors.KafkaTimeoutError):
        KafkaProducer(**kafka.client_options(cluster), max_block_ms=1000)


def _consumer(client, cluster: Cluster) -> None:
    with pytest.raises(kerrors.KafkaTimeoutError):
        KafkaConsumer(**kafka.client_options(cluster))


def _audit_producer(client, cluster: Cluster) -> None:
    with pytest.raises(kerrors.KafkaTimeoutError):
        kafka.audit_producer(cluster)


@pytest.mark.parametrize(
    ("build", "client_id"),
    [
        (_admin, b"flex"),
        (_producer, b"flex"),
        (_consumer, b"flex"),
        (_audit_producer, kafka.AUDIT_CLIENT_ID.encode()),
    ],
    ids=["admin client", "producer", "consumer", "audit producer"],
)
def test_each_client_signs_in_with_scram_over_tls(
    client, bob, allow, sasl_cluster, sasl_broker, build: Callable, client_id: bytes
):
    seen = sasl_broker.socat_log.stat().st_size
    build(client, sasl_cluster)
    wire = sasl_broker.socat_log.read_bytes()[seen:]
    assert client_id in wire
    assert b"SCRAM-SHA-512" in wire
    assert f"n={USER},r=".encode() in wire
