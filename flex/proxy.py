"""Behind a reverse proxy: who the client is and which scheme it used.

Only when the direct peer is one of ``FLEX_TRUSTED_PROXIES`` does Flex read the forwarded
headers: the client is the right-most address of ``X-Forwarded-For`` that is not itself a
trusted proxy, the scheme is ``X-Forwarded-Proto``. From anyone else the headers change
nothing — a client cannot name its own address or claim https. ``ProxyMiddleware`` runs
first and rewrites ``REMOTE_ADDR`` and ``wsgi.url_scheme`` once, so every later reader (the
audit records' ``client-ip``, ``build_absolute_uri``, ``is_secure``, the HTTPS redirect)
sees the same answer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"
FORWARDED_PROTO = "HTTP_X_FORWARDED_PROTO"


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted(address: str, proxies: Sequence | None = None) -> bool:
    proxies = settings.FLEX_TRUSTED_PROXIES if proxies is None else proxies
    ip = _address(address)
    return ip is not None and any(ip in network for network in proxies)


def forwarded_client(peer: str, forwarded_for: str, proxies: Sequence | None = None) -> str:
    """The client behind ``peer``: the right-most untrusted ``X-Forwarded-For`` address
    when ``peer`` is a trusted proxy, else ``peer`` itself."""
    if not is_trusted(peer, proxies):
        return peer
    client = peer
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        ip = _address(hop)
        if ip is None:
            break  # garbage in the chain: the last proxy we trust saw the one before it
        client = str(ip)
        if not is_trusted(client, proxies):
            break
    return client


class ProxyMiddleware:
    """Client address and scheme from a trusted proxy's headers; see the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        peer = meta.get("REMOTE_ADDR", "")
        if is_trusted(peer):
            meta["REMOTE_ADDR"] = forwarded_client(peer, meta.get(FORWARDED_FOR, ""))
            proto = meta.get(FORWARDED_PROTO, "").split(",")[0].strip().lower()
            if proto in ("http", "https"):
                meta["wsgi.url_scheme"] = proto
        return self.get_response(request)
