"""FLEX_TRUSTED_PROXIES: forwarded headers count only from a trusted peer."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import Client

from audit.gate import Ctx, record_event
from audit.models import AuditRecord
from flex.proxy import forwarded_client

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.5", "198.51.100.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),  # right-most untrusted
        ("10.0.0.5", "10.1.1.1, 10.0.0.9", "10.1.1.1"),  # only proxies: the farthest one
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "203.0.113.7, not-an-address", "10.0.0.5"),  # garbage stops the walk
        ("192.0.2.1", "203.0.113.7", "192.0.2.1"),  # an untrusted peer names nobody
        ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_it_takes_the_right_most_untrusted_address(peer, forwarded_for, client):
    assert forwarded_client(peer, forwarded_for, PROXIES) == client


def _refused_sign_in(client: Client, **headers) -> AuditRecord:
    client.post("/accounts/login/", {"username": "x", "password": "y"}, **headers)
    return AuditRecord.objects.filter(event="auth/login-refused").latest("ts")


FORWARDED = {"HTTP_X_FORWARDED_FOR": "203.0.113.7", "HTTP_X_FORWARDED_PROTO": "https"}


def test_forwarded_headers_change_nothing_without_trusted_proxies(db, settings):
    settings.FLEX_TRUSTED_PROXIES = ()
    settings.FLEX_LOCAL_LOGIN = True
    record = _refused_sign_in(Client(REMOTE_ADDR="127.0.0.1"), **FORWARDED)
    assert record.document["ctx"]["client-ip"] == "127.0.0.1"


def test_a_trusted_proxy_names_the_client_of_every_record(db, settings):
    settings.FLEX_TRUSTED_PROXIES = PROXIES
    settings.FLEX_LOCAL_LOGIN = True
    record = _refused_sign_in(Client(REMOTE_ADDR="10.0.0.5"), **FORWARDED)
    assert record.document["ctx"]["client-ip"] == "203.0.113.7"
    untrusted = _refused_sign_in(Client(REMOTE_ADDR="192.0.2.1"), **FORWARDED)
    assert untrusted.document["ctx"]["client-ip"] == "192.0.2.1"


def test_the_scheme_comes_from_a_trusted_proxy_only(personas, settings):
    settings.FLEX_TRUSTED_PROXIES = PROXIES
    for peer, scheme in (("10.0.0.5", "https"), ("192.0.2.1", "http")):
        client = Client(REMOTE_ADDR=peer)
        client.force_login(personas["alice"])
        for _ in range(2):
            record_event(actor=None, type="auth/login", event="auth/login", request={}, ctx=Ctx())
        response = client.get("/api/audit/?limit=1", **FORWARDED)
        assert response.status_code == 200, response.content
        assert response.json()["next"].startswith(f"{scheme}://testserver")
