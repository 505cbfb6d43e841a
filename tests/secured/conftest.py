"""A broker that speaks only TLS: Tansu on a private plain port behind `socat OPENSSL-LISTEN`.

The certificates are made with the openssl CLI for the session: a CA, a server certificate
for 127.0.0.1 and localhost (so kafka-python keeps checking host names) and a client
certificate for the proxy that demands one. Tansu advertises the TLS port, so every
connection a client makes after bootstrap goes through the proxy too.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flex import tansu
from tests.topics.conftest import allow, bob  # noqa: F401  (fixtures: a policy, Bob signed in)
from topics import audit_sink, kafka
from topics.models import Cluster, primary_cluster

SECURITY_SETTINGS = (
    "KAFKA_SSL_CAFILE",
    "KAFKA_SSL_CERTFILE",
    "KAFKA_SSL_KEYFILE",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
)


@dataclass(frozen=True)
class Pki:
    ca: Path
    server: Path  # certificate and key in one PEM, as socat takes them
    client_cert: Path
    client_key: Path


def _openssl(command: str, cwd: Path) -> None:
    subprocess.run(["openssl", *shlex.split(command)], cwd=cwd, check=True, capture_output=True)


def _issue(directory: Path, name: str, subject: str, extensions: str) -> None:
    """A key and a certificate signed by the CA in ``directory``."""
    _openssl(
        f"req -newkey rsa:2048 -nodes -keyout {name}.key -out {name}.csr -subj {subject}", directory
    )
    (directory / f"{name}.ext").write_text(extensions)
    _openssl(
        f"x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        f"-out {name}.pem -extfile {name}.ext",
        directory,
    )


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    _openssl(
        "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj '/CN=Flex test CA' -addext basicConstraints=critical,CA:TRUE "
        "-addext keyUsage=critical,keyCertSign,cRLSign",
        directory,
    )
    san = "subjectAltName=IP:127.0.0.1,DNS:localhost"  # host names stay checked
    _issue(directory, "server", "/CN=localhost", f"{san}\nextendedKeyUsage=serverAuth\n")
    _issue(directory, "client", "/CN=flex", "extendedKeyUsage=clientAuth\n")
    server = directory / "server-bundle.pem"  # socat takes certificate and key in one file
    server.write_bytes(b"".join((directory / f).read_bytes() for f in ("server.pem", "server.key")))
    return Pki(
        ca=directory / "ca.pem",
        server=server,
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )


class SecuredBroker:
    """Tansu on 127.0.0.1:<plain port>, reachable only through TLS on 127.0.0.1:<tls port>.

    ``verify`` makes the proxy demand a client certificate signed by the CA; ``tansu_args``
    are added to Tansu's command line (``--authentication`` for SASL).
    """

    def __init__(
        self,
        pki: Pki,
        log_dir: Path,
        *,
        cluster_id: str,
        verify: bool = False,
        tansu_args: tuple[str, ...] = (),
        dump: bool = False,
    ) -> None:
        self.pki = pki
        self.cluster_id = cluster_id
        self.verify = verify
        self.tansu_args = tansu_args
        self.dump = dump  # socat -v: what passes the proxy, decrypted, into socat.log
        self.plain_port = tansu.free_port()
        self.tls_port = tansu.free_port()
        self.bootstrap = f"127.0.0.1:{self.tls_port}"
        self.tansu_log = log_dir / f"tansu-{cluster_id}.log"
        self.socat_log = log_dir / f"socat-{cluster_id}.log"
        self.broker: subprocess.Popen | None = None
        self.proxy: subprocess.Popen | None = None

    def start(self) -> None:
        self.broker = tansu.start(
            self.plain_port,
            cluster_id=self.cluster_id,
            log=self.tansu_log,
            advertised=f"tcp://127.0.0.1:{self.tls_port}",
            extra=self.tansu_args,
        )
        listen = (
            f"OPENSSL-LISTEN:{self.tls_port},cert={self.pki.server},cafile={self.pki.ca},"
            f"verify={int(self.verify)},fork,reuseaddr,bind=127.0.0.1"
        )
        with open(self.socat_log, "ab") as out:
            # A session of its own: socat forks a child per connection, stopped with it.
            self.proxy = subprocess.Popen(
                [
                    "socat",
                    *(["-v"] if self.dump else []),
                    listen,
                    f"TCP:127.0.0.1:{self.plain_port}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        tansu.wait_for_port(self.tls_port)

    def stop(self) -> None:
        if self.proxy is not None:
            if self.proxy.poll() is None:
                os.killpg(self.proxy.pid, signal.SIGTERM)
            self.proxy.wait(timeout=5)
            self.proxy = None
        if self.broker is not None:
            tansu.stop(self.broker)
            self.broker = None

    def __enter__(self) -> SecuredBroker:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="module")
def tls_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    """A broker behind a TLS proxy that asks for no client certificate."""
    with SecuredBroker(pki, tmp_path_factory.mktemp("tls"), cluster_id="flex-tls") as broker:
        yield broker


@pytest.fixture(scope="module")
def mtls_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    """A broker behind a TLS proxy that demands a client certificate signed by the CA."""
    log_dir = tmp_path_factory.mktemp("mtls")
    with SecuredBroker(pki, log_dir, cluster_id="flex-mtls", verify=True) as broker:
        yield broker


def reset_kafka_clients() -> None:
    """Drop every cached Kafka client (admin clients and the audit producer)."""
    kafka.reset_clients()
    audit_sink.reset_producer()


def point_at(settings, broker: SecuredBroker, protocol: str = "SSL", **security: str) -> None:
    """Settings for the primary cluster on ``broker``; unnamed TLS/SASL settings are empty."""
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    settings.KAFKA_SECURITY_PROTOCOL = protocol
    for name in SECURITY_SETTINGS:
        setattr(settings, name, security.get(name, ""))
    reset_kafka_clients()


@pytest.fixture
def over_tls(settings, tls_broker: SecuredBroker, db: None) -> Iterator[Cluster]:
    """The primary cluster on the TLS broker, trusting its CA, its Kafka id discovered."""
    point_at(settings, tls_broker, KAFKA_SSL_CAFILE=str(tls_broker.pki.ca))
    cluster = primary_cluster()
    kafka.describe_cluster(cluster)
    cluster.refresh_from_db()
    assert cluster.key == "flex-tls"
    yield cluster
    reset_kafka_clients()


@pytest.fixture
def new_name() -> Callable[[str], str]:
    """A topic name no other test uses (the module's broker is shared)."""
    return lambda prefix="tls": f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_topic_through_the_api(client, cluster_key: str, name: str):
    return client.post(
        f"/api/clusters/{cluster_key}/topics/",
        {"name": name, "partitions": 1, "replication_factor": 1},
        content_type="application/json",
    )
