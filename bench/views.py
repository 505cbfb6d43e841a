"""The Audit log page, each single filter and the CSV export at 2M and 20M records (30 days).

The sizes are FLEX_BENCH_VIEWS_SIZES (default ``2000000,20000000``).

For each size, in its own scratch database (``flex_bench_views_<size>``, records made in SQL
with generate_series, the indexes built after the load), a child process measures:
(a) the Audit log page as an auditor (not a superuser) opens it, p95 over 200 requests
through Django's test Client in-process on one kept connection (no runserver: a kept-alive
runserver connection stalls ~40 ms a response), beside the raw SQL of the list query behind
it run through psycopg; the same for each single filter (outcome, user, event, resource);
and the chart's first, uncached render;
(b) the CSV export of the 7-day window (rows/s) beside ``psql \\copy`` of the same SELECT to
/dev/null, and the export process's peak RSS.
Then the growth of the page p95 and p50 from the smallest size to the largest.
Run: ``python -m bench.views`` (``make bench`` runs it with the others);
``FLEX_BENCH_VIEWS_REUSE=1`` measures again on databases already generated.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path
from urllib.parse import urlsplit

from bench.rows import print_rows, row

ROOT = Path(__file__).resolve().parent.parent
# FLEX_BENCH_VIEWS_SIZES=20000,200000 for a quick trial run.
SIZES = tuple(
    int(n) for n in os.environ.get("FLEX_BENCH_VIEWS_SIZES", "2000000,20000000").split(",")
)
# FLEX_BENCH_VIEWS_REUSE=1 keeps a scratch database that already holds its size (migrated again).
REUSE = os.environ.get("FLEX_BENCH_VIEWS_REUSE") == "1"
DB_PREFIX = os.environ.get("FLEX_BENCH_VIEWS_DB", "flex_bench_views")  # scratch databases' names
REQUESTS = 200
# Each single filter of the page, on values the generated rows hold: 1 in 17 denied, 1 in 50
# per user, 1 in 5 per mutation event, "topic-99" a substring of 11 in 1000 resources; and
# the quick ranges.
FILTERS = {
    "outcome": "outcome=denied",
    "user": "user=user7",
    "event": "event=mutation/create-topic",
    "resource": "resource=topic-99",
    "range": "range=7d",  # its start moves with every request
    "hourly": "range=24h",  # charted by the hour
}
WARMUP = 10
AUDITOR = "bench-auditor"

GENERATE = """
INSERT INTO audit_auditrecord ({extra_columns}id, ts, flex_user_id, user_pk, login, type, event,
  action, outcome, cluster_id, resource_name, document)
SELECT {extra_values}
  (lpad(to_hex((extract(epoch FROM s.ts) * 1000)::bigint), 12, '0') || '7'
     || substr(s.h, 1, 3) || '8' || substr(s.h, 4, 15))::uuid,
  s.ts,
  ('00000000-0000-4000-8000-' || lpad(to_hex(s.u), 12, '0'))::uuid,
  s.u, 'user' || s.u, s.type, s.event, s.action, s.outcome, 'cluster-' || (s.g % 3), s.res,
  jsonb_build_object(
    'id', s.h, 'ts', (extract(epoch FROM s.ts) * 1000)::bigint, 'type', s.type,
    'data', jsonb_build_object(
      'user', jsonb_build_object('provider', 'github', 'email', 'user' || s.u || '@example.com',
                                 'name', 'User ' || s.u, 'login', 'user' || s.u, 'id', s.h),
      'event', jsonb_build_array(s.event, jsonb_build_object(
          'topic-name', s.res, 'partitions', '3', 'replication-factor', '1',
          'config-items', '{{}}'::jsonb,
          'request/ctx', jsonb_build_object('cluster-id', 'cluster-' || (s.g % 3)))),
      'rbac', jsonb_build_object('success?', s.outcome <> 'denied', 'action', s.action,
          'policies', jsonb_build_array(jsonb_build_object(
              'resource', jsonb_build_array('cluster', '*'), 'role', '*', 'effect', 'Allow',
              'actions', jsonb_build_array(s.action)))),
      'response', jsonb_build_object('status', s.outcome,
          'error', CASE WHEN s.outcome = 'failed' THEN 'topic already exists' END)),
    'ctx', jsonb_build_object('cluster-id', 'cluster-' || (s.g % 3), 'via', 'ui',
        'client-ip', '10.0.' || (s.u % 250) || '.' || (s.g % 250),
        'user-agent', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0'))
FROM (
  SELECT g, md5(g::text) AS h, now() - (g::float8 / {n}) * interval '30 days' AS ts, g % 50 AS u,
    CASE WHEN g % 20 = 0 THEN 'auth/request' WHEN g % 5 = 1 THEN 'query/request'
         ELSE 'mutation/request' END AS type,
    CASE WHEN g % 20 = 0 THEN 'auth/sign-in' WHEN g % 5 = 1 THEN 'query/inspect-topic'
         ELSE (ARRAY['mutation/create-topic', 'mutation/edit-topic', 'mutation/delete-topic',
                     'mutation/produce'])[1 + g % 4] END AS event,
    CASE WHEN g % 20 = 0 THEN '' WHEN g % 5 = 1 THEN 'TOPIC_INSPECT'
         ELSE (ARRAY['TOPIC_CREATE', 'TOPIC_EDIT', 'TOPIC_DELETE', 'TOPIC_PRODUCE'])[1 + g % 4]
    END AS action,
    CASE WHEN g % 17 = 0 THEN 'denied' WHEN g % 23 = 0 THEN 'failed' ELSE 'succeeded' END
      AS outcome,
    'topic-' || (g % 1000) AS res
  FROM generate_series(1, {n}) AS g
) AS s
"""
KNOWN_COLUMNS = {
    "id", "ts", "flex_user_id", "user_pk", "login", "type", "event", "action", "outcome",
    "cluster_id", "resource_name", "document",
}  # fmt: skip


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


# The parent: scratch databases, one child per size ----------------------------------------


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not url.startswith("postgres"):
        raise RuntimeError("bench.views needs PostgreSQL (DATABASE_URL)")
    return url


def _db_url(name: str) -> str:
    parts = urlsplit(server_url())
    return parts._replace(path="/" + name).geturl()


def run_psql(url: str, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", *args], check=True,
                          capture_output=True, text=True, **kw)  # fmt: skip


def child_env(name: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": _db_url(name), "FLEX_TEST_DB_NAME": ""}
    env.update(DEBUG="false", ALLOWED_HOSTS="testserver", DJANGO_SETTINGS_MODULE="flex.settings")
    env.setdefault("SECRET_KEY", "flex-bench-only")
    env.setdefault("FLEX_AUDIT_SIGNING_KEY_FILE", _bench_signing_key())
    return env


def _bench_signing_key() -> str:
    """DEBUG is off here, so the audit signing key must be given (flex.E004): a scratch one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(os.environ.get("FLEX_VAR_DIR", ROOT / "var")) / "bench-audit-signing.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return str(path)


def _child(name: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.views", *args], cwd=ROOT, env=child_env(name),
        capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"bench.views {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(size: int) -> str:
    """A fresh scratch database holding ``size`` records over the last 30 days."""
    name = f"{DB_PREFIX}_{size}"
    server = server_url()
    if REUSE and _holds(name, size):
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT,
                       env=child_env(name), check=True)  # fmt: skip
        return name
    run_psql(server, "-c", f"DROP DATABASE IF EXISTS {name}")
    run_psql(server, "-c", f"CREATE DATABASE {name}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT,
                   env=child_env(name), check=True)  # fmt: skip
    _child(name, "--generate", str(size))
    return name


def _holds(name: str, size: int) -> bool:
    exists = run_psql(server_url(), "-c", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if exists.stdout.strip() != "1":
        return False
    count = run_psql(_db_url(name), "-c", "SELECT count(*) FROM audit_auditrecord")
    return int(count.stdout.strip()) == size


def measure(size: int) -> dict:
    name = prepare(size)
    page = _child(name, "--pages")
    page["export"] = _child(name, "--export")
    page["copy"] = _psql_copy(name, page["export"]["copy_sql"], page["export"]["rows"])
    return page


def _psql_copy(name: str, select: str, rows: int) -> dict:
    """``psql \\copy`` of the export's SELECT to /dev/null: the raw rows/s."""
    start = time.perf_counter()
    run_psql(_db_url(name), "-c", f"\\copy ({select}) TO '/dev/null' WITH (FORMAT csv)")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows_per_s": rows / seconds}


def rows_for(size: int, m: dict) -> list[dict]:
    label = _label(size)
    page, raw = m["page_p95_ms"], m["raw_p95_ms"]
    export, copy = m["export"], m["copy"]
    return [
        row(f"{label}: Audit log page p95 (auditor, test Client)", round(page, 2), "ms",
             round(raw, 3), round(page / raw, 1), "≤ 25 ms", page <= 25),
        *[row(f"{label}: Audit log page ?{f['query']} p95", round(f["p95_ms"], 2), "ms",
               round(f["raw_p95_ms"], 3), round(f["p95_ms"] / f["raw_p95_ms"], 1), "≤ 25 ms",
               f["p95_ms"] <= 25) for f in m["filters"].values()],
        row(f"{label}: Audit log page p50", round(m["page_p50_ms"], 2), "ms"),
        row(f"{label}: chart's first (uncached) render of the page", round(m["cold_ms"], 1),
             "ms", round(m["chart_raw_ms"], 1), round(m["cold_ms"] / m["chart_raw_ms"], 2)),
        row(f"{label}: CSV export of the window ({export['rows']:,} rows)",
             round(export["rows_per_s"]), "rows/s", round(copy["rows_per_s"]),
             round(export["rows_per_s"] / copy["rows_per_s"], 2), "≥ 0.5× psql \\copy",
             export["rows_per_s"] >= 0.5 * copy["rows_per_s"]),
        row(f"{label}: export process peak RSS", round(export["peak_rss_mb"], 1), "MB",
             round(export["rss_before_mb"], 1), None, "≤ 150 MB", export["peak_rss_mb"] <= 150),
    ]  # fmt: skip


def main() -> list[dict]:
    results = {size: measure(size) for size in SIZES}
    rows = []
    for size in SIZES:
        rows += rows_for(size, results[size])
    if len(SIZES) > 1:
        first, last = SIZES[0], SIZES[-1]
        growth = f"{_label(last)} vs {_label(first)}"
        for stat in ("page_p95_ms", "page_p50_ms"):
            small, large = results[first][stat], results[last][stat]
            rows.append(row(f"page {stat[5:8]} growth, {growth}", round(large, 2), "ms",
                             round(small, 2), round(large / small, 2), "≤ 1.2×",
                             large / small <= 1.2))  # fmt: skip
    return rows


def _label(size: int) -> str:
    return f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}M"


# The child: runs inside Django on one scratch database ----------------------------------


def generate(size: int) -> dict:
    from django.db import connection

    from audit.models import AuditRecord

    extra = [f.column for f in AuditRecord._meta.concrete_fields if f.column not in KNOWN_COLUMNS]
    sql = GENERATE.format(
        n=size,
        extra_columns="".join(f"{c}, " for c in extra),
        extra_values="".join("'', " for _ in extra),
    )
    start = time.perf_counter()
    with connection.cursor() as cursor:
        # Bulk load: the secondary indexes are dropped first and built once at the end.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_auditrecord'"
            " AND indexname <> 'audit_auditrecord_pkey'"
        )
        indexes = cursor.fetchall()
        for index, _ in indexes:
            cursor.execute(f'DROP INDEX "{index}"')
        cursor.execute(sql)
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM ANALYZE audit_auditrecord")
    return {"seconds": time.perf_counter() - start}


def _auditor_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from rbac.models import AccessSettings, Profile

    access = AccessSettings.load()
    access.authorized_roles, access.auditor_roles = ["member"], ["auditors"]
    access.save()
    user, _ = get_user_model().objects.get_or_create(username=AUDITOR)
    Profile.objects.get_or_create(
        user=user, defaults={"provider": "github", "login": AUDITOR,
                             "provider_roles": ["member", "auditors"]},
    )  # fmt: skip
    client = Client()
    client.force_login(user)
    return client


def _time_page(client, path: str) -> tuple[list[float], list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUP):
        assert client.get(path).status_code == 200
    samples = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return samples, [q["sql"] for q in queries]


def _time_raw(sql: str) -> list[float]:
    from django.db import connection

    samples = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for _ in range(WARMUP):
            raw.execute(sql)
            raw.fetchall()
        for _ in range(REQUESTS):
            start = time.perf_counter()
            raw.execute(sql)
            raw.fetchall()
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def _list_sql(queries: list[str]) -> str:
    return next(q for q in queries if "audit_auditrecord" in q and "LIMIT 51" in q)


def _forget_charts() -> None:
    """The chart's cached counts, in this process and in Redis (audit/queries.py)."""
    from django.core.cache import caches

    caches["default"].clear()
    shared = caches["shared"]
    if not hasattr(shared._cache, "get_client"):
        shared.clear()
        return
    client = shared._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{shared.key_prefix}:*audit-chart:*"):
        client.delete(key)


def pages() -> dict:
    from django.urls import reverse

    client = _auditor_client()
    url = reverse("audit-log")
    _forget_charts()
    start = time.perf_counter()
    client.get(url)
    cold = (time.perf_counter() - start) * 1000
    samples, queries = _time_page(client, url)
    raw = _time_raw(_list_sql(queries))
    chart_raw = _time_raw_once(_full_chart_sql())
    filtered = {}
    for name, query in FILTERS.items():
        timed, filter_queries = _time_page(client, f"{url}?{query}")
        filtered[name] = {
            "query": query,
            "p95_ms": _p95(timed),
            "raw_p95_ms": _p95(_time_raw(_list_sql(filter_queries))),
        }
    return {
        "page_p95_ms": _p95(samples),
        "page_p50_ms": statistics.median(samples),
        "raw_p95_ms": _p95(raw),
        "filters": filtered,
        "cold_ms": cold,
        "chart_raw_ms": chart_raw,
        "queries": len(queries),
    }


def _full_chart_sql() -> str:
    """The chart's GROUP BY over the whole window, as the first render runs it."""
    from django.db import connection
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from audit import queries
    from audit.models import AuditRecord

    window = queries.audit_window()
    form = queries.parse_filters({}, window=window)
    qs = queries.records_matching(AuditRecord.objects.all(), form)
    grouped = (
        qs.order_by()
        .annotate(day=TruncDate("ts", tzinfo=UTC))
        .values_list("day", "outcome")
        .annotate(n=Count("id"))
    )
    sql, params = grouped.query.sql_with_params()
    with connection.cursor() as cursor:
        return cursor.mogrify(sql, params)


def _time_raw_once(sql: str) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.cursor.execute(sql)
        cursor.cursor.fetchall()
        return (time.perf_counter() - start) * 1000


def export() -> dict:
    from django.db import connection
    from django.urls import reverse

    from audit import export as audit_export
    from audit import queries
    from audit.models import AuditRecord

    client = _auditor_client()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    response = client.get(reverse("audit-log-export"))
    rows = size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - start
    response.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows -= 1  # the header
    assert rows == int(response["X-Row-Count"])
    # The same SELECT for psql (parameters inlined; COPY … TO STDOUT stripped).
    window = queries.audit_window()
    qs = queries.records_matching(
        AuditRecord.objects.all(), queries.parse_filters({}, window=window)
    )
    statement, params = audit_export.copy_statement(qs)
    with connection.cursor() as cursor:
        literal = cursor.mogrify(statement, params)
    select = literal[len("COPY (") : literal.rindex(") TO STDOUT")]
    return {
        "rows": rows,
        "bytes": size,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "rss_before_mb": before,
        "peak_rss_mb": peak,
        "copy_sql": " ".join(select.split()),
    }


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flex.settings")
    django.setup()
    if len(sys.argv) > 1 and sys.argv[1] == "--generate":
        print(json.dumps(generate(int(sys.argv[2]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--pages":
        print(json.dumps(pages()))
    elif len(sys.argv) > 1 and sys.argv[1] == "--export":
        print(json.dumps(export()))
    else:
        print_rows(main())
