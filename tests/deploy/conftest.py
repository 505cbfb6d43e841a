"""Flex as ``make serve`` runs it — gunicorn with several workers, Celery workers, beat —
behind a real nginx, on the fault tests' own broker and Redis (``tests.faults``' stack).

nginx listens on a port of its own, reaches gunicorn from 127.0.0.3 (``proxy_bind``) and
says the client came over https, as a TLS-terminating proxy does. Flex trusts 127.0.0.3
only: a client on 127.0.0.1 that talks to gunicorn directly is not a proxy.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flex import tansu
from tests.faults.conftest import (  # noqa: F401  (fixtures)
    WEB_APP,
    Service,
    ledger,
    port_open,
    stack,
    world,
)

PROXY_ADDRESS = "127.0.0.3"
METRICS_TOKEN = "metrics-secret-for-tests"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/nginx-body;
  proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fastcgi;
  uwsgi_temp_path {tmp}/nginx-uwsgi;
  scgi_temp_path {tmp}/nginx-scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://127.0.0.1:{web};
      proxy_bind {proxy};
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
    }}
  }}
}}
"""


@dataclass
class Served:
    web: str  # gunicorn, directly
    proxy: str  # nginx in front of it
    serve: Service
    metrics_dir: Path


def start_served(stack, *, web_workers: int, celery_workers: int = 2) -> Served:  # noqa: F811
    """``python -m flex.serve`` (what ``make serve`` runs) on the stack, and nginx."""
    tmp = stack.tmp
    web_port, proxy_port = tansu.free_port(), tansu.free_port()
    metrics_dir = tmp / f"prometheus-{web_port}"
    metrics_dir.mkdir()
    env = {
        **stack.child_env(WEB_APP),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FLEX_LISTEN": f"127.0.0.1:{web_port}",
        "FLEX_WEB_WORKERS": str(web_workers),
        "FLEX_CELERY_WORKERS": str(celery_workers),
        "FLEX_TRUSTED_PROXIES": PROXY_ADDRESS,
        "FLEX_METRICS_TOKEN": METRICS_TOKEN,
        "FLEX_VAR_DIR": str(tmp / f"var-{web_port}"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    serve = Service("flex serve", [sys.executable, "-m", "flex.serve"], env, tmp / "serve.log")
    serve.start(lambda out: port_open(web_port) and b"beat: Starting" in out, timeout=90)
    conf = tmp / f"nginx-{proxy_port}.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=proxy_port, web=web_port, proxy=PROXY_ADDRESS))
    nginx = Service("nginx", [NGINX, "-c", str(conf)], env, tmp / "nginx.log")
    nginx.start(lambda out: port_open(proxy_port))
    stack.extra = [*getattr(stack, "extra", []), serve, nginx]
    return Served(
        f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{proxy_port}", serve, metrics_dir
    )


@pytest.fixture
def served(stack, world) -> Iterator[Served]:  # noqa: F811
    running = start_served(stack, web_workers=3)
    try:
        yield running
    finally:
        for service in stack.extra:
            service.stop()
