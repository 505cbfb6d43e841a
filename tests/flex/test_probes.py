"""``/livez``, ``/readyz`` and ``/metrics`` in this process (tests/deploy: under gunicorn).

Committed data (``transactional_db``): the checks read on connections of their own, and
records are counted when they commit."""

from __future__ import annotations

from audit.gate import Ctx, record_event
from audit.models import Delivery


def _record() -> None:
    record_event(actor=None, type="auth/login", event="auth/login", request={}, ctx=Ctx(), user={})


def test_livez_checks_nothing_but_the_process(client, settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"  # no broker there: livez does not care
    assert client.get("/livez").json() == {"status": "ok"}


def test_readyz_fails_naming_the_outbox_when_its_backlog_is_over_the_limit(
    client, kafka, transactional_db, settings
):
    settings.FLEX_READY_MAX_BACKLOG = 2
    assert client.get("/readyz").status_code == 200
    for _ in range(3):
        _record()
    assert Delivery.objects.filter(status=Delivery.PENDING).count() >= 3
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["outbox"]
    assert body["outbox"]["error"] == "more than 2 audit records wait for delivery"
    assert client.get("/healthz").status_code == 200  # /healthz stays as it was


def test_metrics_need_the_bearer_token_when_one_is_set(client, db, settings):
    settings.FLEX_METRICS_TOKEN = "s3cret"
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"


def test_metrics_show_the_backlog_and_the_seal_lag_per_sink(client, transactional_db):
    _record()
    _record()
    text = client.get("/metrics").content.decode()
    sinks = set(Delivery.objects.values_list("sink", flat=True))
    for sink in sinks:
        assert f'flex_outbox_backlog{{sink="{sink}"}} 2.0' in text
    assert "flex_seal_backlog 2.0" in text
    assert 'flex_audit_records_total{outcome="succeeded"}' in text
