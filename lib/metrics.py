"""The counters every app adds to (``prometheus_client``; ``flex/metrics.py`` serves them).

Here, below the apps, so the gate and the engine count without importing ``flex``. With
``PROMETHEUS_MULTIPROC_DIR`` set each process writes its counts to files there.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "flex_http_requests", "HTTP requests answered, by view", ["view", "method", "status"]
)
LATENCY = Histogram(
    "flex_http_request_duration_seconds",
    "Time to answer a request, by view",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
AUDIT_RECORDS = Counter("flex_audit_records", "Audit records written, by outcome", ["outcome"])
RBAC_DECISIONS = Counter("flex_rbac_decisions", "RBAC decisions made by the gate", ["result"])
RBAC_RELOADS = Counter("flex_rbac_reloads", "Times a process recompiled the policies")


def record_written(outcome: str) -> None:
    AUDIT_RECORDS.labels(outcome=outcome).inc()


def rbac_decided(allowed: bool) -> None:
    RBAC_DECISIONS.labels(result="allowed" if allowed else "denied").inc()


def rbac_reloaded() -> None:
    RBAC_RELOADS.inc()
