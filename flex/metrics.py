"""``GET /metrics``: Prometheus text format, correct with several gunicorn workers.

Counters and histograms counted as things happen live in ``lib/metrics.py``; with
``PROMETHEUS_MULTIPROC_DIR`` set (``make serve`` sets it for every web and worker process)
each process writes its own files there and a scrape sums them all, so whichever worker
answers reports every worker. What the database knows (the outbox backlog and its oldest
undelivered record per sink, delivery failures per sink, the seal lag) is read at scrape
time, once, by the process that answers.

``FLEX_METRICS_TOKEN``, when set, is required as ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from lib.metrics import LATENCY, REQUESTS


class MetricsMiddleware:
    """Counts every request and its latency under the view that answered it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match._func_path) if match else "unresolved"  # noqa: SLF001
        LATENCY.labels(view=view).observe(time.perf_counter() - started)
        REQUESTS.labels(view=view, method=_method(request), status=response.status_code).inc()
        return response


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(request: HttpRequest) -> str:
    return request.method if request.method in METHODS else "other"


class DatabaseCollector(Collector):
    """The outbox, delivery failures and seal lag, as the database has them now."""

    def collect(self) -> Iterator:
        from django.db.models import Count, Min

        from audit.models import Delivery, DeliveryAttempt, PendingSeal

        now = timezone.now()
        backlog = GaugeMetricFamily(
            "flex_outbox_backlog", "Audit records not yet delivered, per sink", labels=["sink"]
        )
        oldest = GaugeMetricFamily(
            "flex_outbox_oldest_undelivered_seconds",
            "Age of the oldest undelivered audit record, per sink",
            labels=["sink"],
        )
        pending = (
            Delivery.objects.filter(status=Delivery.PENDING)
            .values("sink")
            .annotate(n=Count("record_id"), first=Min("record__ts"))
        )
        for row in pending:
            backlog.add_metric([row["sink"]], row["n"])
            oldest.add_metric([row["sink"]], (now - row["first"]).total_seconds())
        failures = CounterMetricFamily(
            "flex_delivery_failures", "Failed delivery attempts, per sink", labels=["sink"]
        )
        attempts = DeliveryAttempt.objects.exclude(error="").values("sink").annotate(n=Count("id"))
        for row in attempts:
            failures.add_metric([row["sink"]], row["n"])
        seals = PendingSeal.objects.filter(refused_at=None).aggregate(
            n=Count("record_id"), first=Min("record__ts")
        )
        unsealed = GaugeMetricFamily("flex_seal_backlog", "Audit records not sealed yet")
        unsealed.add_metric([], seals["n"])
        lag = GaugeMetricFamily("flex_seal_lag_seconds", "Age of the oldest unsealed record")
        lag.add_metric([], (now - seals["first"]).total_seconds() if seals["first"] else 0.0)
        yield from (backlog, oldest, failures, unsealed, lag)


def registry() -> CollectorRegistry:
    """Every process's counters (multiprocess mode) or this one's, with the database's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        scraped = CollectorRegistry()
        multiprocess.MultiProcessCollector(scraped)
    else:
        scraped = CollectorRegistry()
        scraped.register(_Forward(REGISTRY))
    scraped.register(DatabaseCollector())
    return scraped


class _Forward(Collector):
    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator:
        return self.source.collect()


def authorized(request: HttpRequest) -> bool:
    expected = settings.FLEX_METRICS_TOKEN
    if not expected:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if not authorized(request):
        from flex.tokens import record_api_refused

        record_api_refused(request, reason="metrics", detail="a valid metrics token is needed")
        return HttpResponse(
            "a valid metrics token is needed\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="flex-metrics"'},
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
