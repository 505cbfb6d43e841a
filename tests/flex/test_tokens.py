"""API tokens: hashed, shown once, expiring, revocable, audited; refusals recorded but capped."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditRecord
from flex import throttle, tokens
from flex.models import ApiToken


def _api(user=None, token: str | None = None, address: str = "192.0.2.50") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    if user is not None:
        client.force_authenticate(user)
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_is_shown_once_stored_hashed_and_audited(personas, settings):
    settings.FLEX_TOKEN_TTL_DAYS = 30
    response = _api(personas["bob"]).post("/api/tokens/", {"name": "ci"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["token"]
    assert secret.startswith("flex_") and len(secret) > 40
    stored = ApiToken.objects.get(pk=body["id"])
    assert stored.digest == tokens.digest(secret) and secret not in stored.digest
    expires = timezone.now() + timedelta(days=30)
    assert abs((stored.expires_at - expires).total_seconds()) < 60
    record = AuditRecord.objects.get(event="auth/token-create")
    assert (record.outcome, record.login, record.resource_name) == ("succeeded", "bob", "ci")
    assert secret not in str(record.document) and secret[5:] not in str(record.document)
    assert str(record.id) == body["audit_record"]

    listed = _api(personas["bob"]).get("/api/tokens/").json()
    assert [t["name"] for t in listed["tokens"]] == ["ci"]
    assert secret not in str(listed) and "digest" not in str(listed)
    assert AuditRecord.objects.filter(event="query/list-tokens").count() == 1


def test_the_token_authenticates_until_revoked_then_answers_401(personas):
    _, secret = tokens.issue(personas["bob"], "script")
    assert _api(token=secret).get("/api/clusters/").status_code == 200
    token_id = ApiToken.objects.get().pk
    other = _api(personas["carol"]).delete(f"/api/tokens/{token_id}/")
    assert other.status_code == 404  # someone else's token is not theirs to revoke
    assert _api(token=secret).get("/api/clusters/").status_code == 200
    revoked = _api(personas["bob"]).delete(f"/api/tokens/{token_id}/")
    assert revoked.status_code == 200
    assert AuditRecord.objects.filter(event="auth/token-revoke").count() == 2
    assert AuditRecord.objects.get(event="auth/token-revoke", outcome="succeeded").login == "bob"
    response = _api(token=secret).get("/api/clusters/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Token realm="flex"'
    refused = AuditRecord.objects.get(event="auth/api-refused")
    assert refused.outcome == "denied" and refused.login == "bob"
    assert refused.document["data"]["event"][1]["reason"] == "revoked"
    assert secret not in str(refused.document)


def test_an_expired_token_answers_401(personas):
    token, secret = tokens.issue(personas["bob"], "old")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _api(token=secret).get("/api/clusters/")
    assert response.status_code == 401 and response.json()["detail"] == "this token has expired"
    assert (
        AuditRecord.objects.get(event="auth/api-refused").document["data"]["event"][1]["reason"]
        == "expired"
    )


def test_a_nameless_token_is_refused_with_one_record(personas):
    for body in ({}, {"name": ""}, {"name": "x" * 101}, {"name": "a\x00b"}, ["ci"]):
        response = _api(personas["bob"]).post("/api/tokens/", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"] == "invalid_request"
    assert not ApiToken.objects.exists()
    assert AuditRecord.objects.filter(event="auth/token-create", outcome="failed").count() == 5


def test_refused_tokens_are_recorded_at_most_a_few_a_minute_per_address(db):
    for n in range(30):
        assert _api(token=f"flex_guess{n}").get("/api/clusters/").status_code == 401
    assert AuditRecord.objects.filter(event="auth/api-refused").count() == (
        throttle.API_REFUSED_RECORDS
    )
    _api(token="flex_elsewhere", address="198.51.100.9").get("/api/clusters/")
    assert AuditRecord.objects.filter(event="auth/api-refused").count() == (
        throttle.API_REFUSED_RECORDS + 1
    )


def test_the_tokens_page_makes_shows_once_and_revokes(personas):
    client = Client()
    client.force_login(personas["bob"])
    page = client.post("/settings/tokens/", {"name": "laptop"})
    assert page.status_code == 200
    secret = page.context["created"][1]
    assert secret in page.content.decode()
    again = client.get("/settings/tokens/").content.decode()
    assert "laptop" in again and secret not in again
    token = ApiToken.objects.get()
    assert client.post("/settings/tokens/", {"revoke": token.pk}).status_code == 200
    assert ApiToken.objects.get().revoked_at is not None
    events = AuditRecord.objects.order_by("ts").values_list("event", flat=True)
    assert list(events) == ["auth/token-create", "query/list-tokens", "auth/token-revoke"]
