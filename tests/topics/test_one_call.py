"""A topic create looks its cluster up once and asks Kafka once: counted on the wire.

Tansu listens on a private port and advertises a counting proxy, so every request any
client sends after bootstrap crosses the proxy, which reads each request's API key.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from flex import tansu
from topics import kafka as kafka_client
from topics.models import primary_cluster

CREATE_TOPICS, DESCRIBE_CLUSTER = 19, 60
# What a client may send for its connection (not for the operation): versions, metadata.
HOUSEKEEPING = {18, 3}  # ApiVersions, Metadata


class CountingProxy:
    """Relays 127.0.0.1:port to the broker and notes the API key of every request."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.keys: list[int] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            broker = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._requests, args=(client, broker), daemon=True).start()
            threading.Thread(target=self._pipe, args=(broker, client), daemon=True).start()

    def _requests(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                head = _read(source, 4)
                body = _read(source, struct.unpack(">i", head)[0])
                with self.lock:
                    self.keys.append(struct.unpack(">h", body[:2])[0])
                sink.sendall(head + body)
        except OSError:
            sink.close()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        sink.close()

    def take(self) -> list[int]:
        with self.lock:
            keys, self.keys = self.keys, []
        return keys

    def close(self) -> None:
        self.server.close()


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingProxy]:
    private = tansu.free_port()
    proxy = CountingProxy(private)
    log: Path = tmp_path_factory.mktemp("counted") / "tansu.log"
    process = tansu.start(
        private, cluster_id="flex-counted", log=log, advertised=f"tcp://127.0.0.1:{proxy.port}"
    )
    yield proxy
    tansu.stop(process)
    proxy.close()


@pytest.fixture
def through_proxy(counted, settings, db) -> Iterator[CountingProxy]:
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{counted.port}"
    kafka_client.reset_clients()
    kafka_client.describe_cluster(primary_cluster())  # the id is discovered, the client warm
    counted.take()
    yield counted
    kafka_client.reset_clients()


def _cluster_queries(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if '"topics_cluster"' in q["sql"]]


@pytest.mark.parametrize("face", ["ui", "api"])
def test_a_create_looks_up_its_cluster_once_and_calls_kafka_once(
    face, through_proxy, personas, allow, client
):
    allow(["TOPIC_CREATE"])
    name = f"counted-{face}"
    with CaptureQueriesContext(connection) as captured:
        if face == "ui":
            client.force_login(personas["bob"])
            url = reverse("topic-create", kwargs={"cluster": "flex-counted"})
            data = {"name": name, "partitions": "1", "replication_factor": "1", "configs": ""}
            response = client.post(url, data)
            assert response.status_code == 302
        else:
            api = APIClient()
            api.force_authenticate(personas["bob"])
            response = api.post("/api/clusters/flex-counted/topics/", {"name": name}, format="json")
            assert response.status_code == 201, response.json()
    keys = through_proxy.take()
    assert keys.count(CREATE_TOPICS) == 1, keys
    assert [k for k in keys if k not in HOUSEKEEPING] == [CREATE_TOPICS], keys
    # primary_cluster() (the environment's cluster kept current) and the URL's cluster.
    assert len(_cluster_queries(captured)) == 2, _cluster_queries(captured)
    assert name in {t.name for t in kafka_client.list_topics(primary_cluster())}


def test_a_denied_create_never_reaches_kafka(through_proxy, personas, allow):
    allow(["TOPIC_DELETE"])
    api = APIClient()
    api.force_authenticate(personas["bob"])
    response = api.post("/api/clusters/flex-counted/topics/", {"name": "never"}, format="json")
    assert response.status_code == 403
    assert [k for k in through_proxy.take() if k not in HOUSEKEEPING] == []
