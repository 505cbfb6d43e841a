"""The health check: database, primary Kafka cluster and task queue, within 5 s."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.db import close_old_connections, connection

from topics import kafka
from topics.models import primary_cluster

DEADLINE_SECONDS = 4.5


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def check_kafka() -> dict:
    try:
        cluster = primary_cluster()
        info = kafka.describe_cluster(cluster)
        return {
            "ok": True,
            "cluster_id": info.get("cluster_id"),
            "brokers": len(info["brokers"]),
        }
    finally:
        close_old_connections()


def check_queue() -> dict:
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "in-process"}
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {"ok": True, "mode": "celery"}


def check_backlog() -> dict:
    """The audit outbox: records waiting for a sink, at most ``FLEX_READY_MAX_BACKLOG``."""
    from audit.models import Delivery

    limit = settings.FLEX_READY_MAX_BACKLOG
    # Counting stops past the limit: a huge backlog costs no more to report than a small one.
    pending = Delivery.objects.filter(status=Delivery.PENDING)[: limit + 1].count()
    if pending > limit:
        return {"ok": False, "error": f"more than {limit} audit records wait for delivery"}
    return {"ok": True, "pending": pending, "limit": limit}


CHECKS = {"database": check_database, "kafka": check_kafka, "queue": check_queue}
READY_CHECKS = {**CHECKS, "outbox": check_backlog}


def health(checks: dict | None = None) -> dict[str, dict]:
    """Run every check at once; one that fails or overruns reports why instead of blocking."""
    checks = CHECKS if checks is None else checks
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
    futures = {name: pool.submit(_guarded, fn) for name, fn in checks.items()}
    wait(futures.values(), timeout=DEADLINE_SECONDS)
    pool.shutdown(wait=False)
    results = {}
    for name, future in futures.items():
        if future.done():
            results[name] = future.result()
        else:
            results[name] = {
                "ok": False,
                "error": f"no answer within {DEADLINE_SECONDS} s",
            }
    return results


def _guarded(fn) -> dict:
    try:
        return fn()
    except Exception as exc:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return {"ok": False, "error": message[:300]}
    finally:
        connection.close()
