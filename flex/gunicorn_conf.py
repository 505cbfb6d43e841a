"""gunicorn's configuration as ``make serve`` runs it (``gunicorn -c python:flex.gunicorn_conf``).

gunicorn itself trusts ``X-Forwarded-Proto`` (and two other scheme headers) from 127.0.0.1 by
default: a client on the same host could claim https. Here it trusts exactly
``FLEX_TRUSTED_PROXIES`` and reads no scheme header at all — ``flex.proxy`` does that, once,
for gunicorn and ``runserver`` alike. A worker that exits has its metrics files marked dead
so ``/metrics`` keeps its counts without double-counting its gauges.
"""

from __future__ import annotations

import multiprocessing
import os

from flex.env import env_networks

bind = os.environ.get("FLEX_LISTEN", "127.0.0.1:8000")
workers = int(os.environ.get("FLEX_WEB_WORKERS") or 2 * multiprocessing.cpu_count() + 1)
threads = int(os.environ.get("FLEX_WEB_THREADS") or 4)
timeout = 60
graceful_timeout = 10
forwarded_allow_ips = ",".join(str(n) for n in env_networks("FLEX_TRUSTED_PROXIES"))
secure_scheme_headers: dict[str, str] = {}
accesslog = "-"
errorlog = "-"


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
