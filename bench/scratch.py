"""What the benchmarks that need Kafka share: a scratch database and a Tansu broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scratch_database(default_name: str) -> Iterator[None]:
    """A fresh test database (``FLEX_BENCH_DB``, else ``default_name`` on PostgreSQL),
    destroyed afterwards."""
    from django.conf import settings
    from django.db import connection

    database = settings.DATABASES["default"]
    saved_test = dict(database.get("TEST", {}))
    if connection.vendor != "sqlite":
        database["TEST"] = {**saved_test, "NAME": os.environ.get("FLEX_BENCH_DB", default_name)}
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        database["TEST"] = saved_test


@contextmanager
def broker_cluster() -> Iterator[object]:
    """A Tansu broker on a free port as the primary cluster, its Kafka id discovered."""
    from django.conf import settings

    from flex import tansu
    from topics import kafka
    from topics.models import primary_cluster

    port = tansu.free_port()
    process = tansu.start(port, cluster_id="flex-bench")
    try:
        settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{port}"
        kafka.reset_clients()
        cluster = primary_cluster()
        kafka.describe_cluster(cluster)
        cluster.refresh_from_db()
        yield cluster
    finally:
        kafka.reset_clients()
        tansu.stop(process)
