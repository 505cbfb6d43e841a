"""Flex settings, all read from the environment with embedded defaults.

With nothing set, Flex runs on a SQLite file, runs tasks in-process and talks to
the bundled Tansu broker that ``make run`` starts on 127.0.0.1:9092. Every
variable is listed in README.md; a malformed value stops start-up with a message
that names it.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from flex.env import (
    env_bool,
    env_bootstrap,
    env_choice,
    env_int,
    env_list,
    env_networks,
    env_path,
    env_secret,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FLEX_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # Development: generate once, keep it in an ignored file so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_url("SITE_URL", ("http", "https")) or "http://127.0.0.1:8000"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "social_django",
    "flex",
    "rbac",
    "audit",
    "topics",
    "datapolicy",
    "approvals",
]

MIDDLEWARE = [
    "flex.proxy.ProxyMiddleware",  # first: every later reader sees the real client and scheme
    "flex.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "flex.security.HeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "flex.middleware.AdminAccessMiddleware",
    "flex.middleware.OversizedBodyMiddleware",
    "rbac.roles.RbacMemoMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "flex.auth.SignInErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "flex.middleware.ErrorPageMiddleware",
]

ROOT_URLCONF = "flex.urls"
WSGI_APPLICATION = "flex.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "flex.context_processors.navigation",
            ],
        },
    },
]

# Database: DATABASE_URL, or a SQLite file under var/.
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        # Health checks: a persistent connection the server dropped (restart, failover,
        # pg_terminate_backend) is replaced when a request or task starts, not failed on.
        DATABASES = {
            "default": dj_database_url.parse(
                _database_url, conn_max_age=60, conn_health_checks=True
            )
        }
    except Exception as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from None
    if not DATABASES["default"].get("ENGINE"):
        raise ImproperlyConfigured(f"DATABASE_URL names an unknown database: {_database_url!r}")
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "flex.sqlite3",
            # IMMEDIATE: a write transaction waits for the lock (timeout) instead of failing
            # when background delivery threads write at the same time.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
# Concurrent test runs on one server keep apart by naming their own test database.
if env_str("FLEX_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("FLEX_TEST_DB_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in (README "Sign-in"): GitHub, GitHub Enterprise and local accounts.
from flex.signin_settings import *  # noqa: E402, F403

SOCIAL_AUTH_REDIRECT_IS_HTTPS = SITE_URL.startswith("https://")
SOCIAL_AUTH_REQUESTS_TIMEOUT = 5

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Task queue: Celery on REDIS_URL, or tasks run in-process when it is unset.
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss"))
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = env_str("FLEX_CELERY_QUEUE", "flex")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 2, "socket_connect_timeout": 2}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE: dict = {
    # The audit outbox's safety net: re-deliver and seal whatever an after-commit kick missed.
    "audit-sweep": {"task": "audit.sweep", "schedule": 15.0},
    # Retention: records older than FLEX_AUDIT_RETENTION_DAYS leave through the one sanctioned path.
    "audit-purge": {"task": "audit.purge", "schedule": 24 * 3600.0},
    # The Audit log's chart counted ahead of its readers (each run counts only what is new).
    "audit-warm-chart": {"task": "audit.warm_chart", "schedule": 60.0},
    # Expiry records: requests past FLEX_APPROVAL_TTL_SECONDS, temporary policies past their
    # time (they stop deciding at once by themselves; this writes their record).
    "approvals-expire": {"task": "approvals.expire", "schedule": 30.0},
    "rbac-expire-temporary-policies": {"task": "rbac.expire_temporary_policies", "schedule": 2.0},
}

# Kafka: the primary cluster.
KAFKA_BOOTSTRAP_SERVERS = env_bootstrap("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
KAFKA_TIMEOUT_MS = env_int("FLEX_KAFKA_TIMEOUT_MS", 3000, minimum=100, maximum=60000)
# How Flex connects to it: TLS and/or SASL (flex/checks.py says what does not fit together).
KAFKA_SECURITY_PROTOCOL = env_choice(
    "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
)
KAFKA_SSL_CAFILE = env_path("KAFKA_SSL_CAFILE")
KAFKA_SSL_CERTFILE = env_path("KAFKA_SSL_CERTFILE")
KAFKA_SSL_KEYFILE = env_path("KAFKA_SSL_KEYFILE")
KAFKA_SASL_MECHANISM = env_choice(
    "KAFKA_SASL_MECHANISM", "", ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
)
KAFKA_SASL_USERNAME = env_str("KAFKA_SASL_USERNAME")
KAFKA_SASL_PASSWORD = env_secret("KAFKA_SASL_PASSWORD")

# Audit.
FLEX_AUDIT_TOPIC = env_str("FLEX_AUDIT_TOPIC", "__oprtr_audit_log")
FLEX_AUDIT_TOPIC_PARTITIONS = env_int("FLEX_AUDIT_TOPIC_PARTITIONS", 3, minimum=1, maximum=1000)
FLEX_AUDIT_TOPIC_RETENTION_MS = env_int(
    "FLEX_AUDIT_TOPIC_RETENTION_MS", 30 * 24 * 3600 * 1000, minimum=60_000
)
# Keys the MACs and seals of the audit chain; derived from SECRET_KEY when unset.
FLEX_AUDIT_KEY = env_str("FLEX_AUDIT_KEY")
# Signs every published record and checkpoint (Ed25519, PKCS#8 PEM); DEBUG makes one under var/.
FLEX_AUDIT_SIGNING_KEY_FILE = env_path("FLEX_AUDIT_SIGNING_KEY_FILE")
# Seconds between signed checkpoints of the chain (when records were sealed meanwhile).
FLEX_AUDIT_CHECKPOINT_SECONDS = env_int(
    "FLEX_AUDIT_CHECKPOINT_SECONDS", 10, minimum=1, maximum=3600
)
# Signed checkpoints of the chain, seconds behind the sealer (never on the request path).
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "audit.checkpoint",
    "schedule": float(FLEX_AUDIT_CHECKPOINT_SECONDS),
}
FLEX_AUDIT_CAPTURE_PAYLOADS = env_choice("FLEX_AUDIT_CAPTURE_PAYLOADS", "hash", ("hash", "full"))
FLEX_AUDIT_VIEW_DAYS = env_int("FLEX_AUDIT_VIEW_DAYS", 7, minimum=1, maximum=366)
FLEX_AUDIT_RETENTION_DAYS = env_int("FLEX_AUDIT_RETENTION_DAYS", 365, minimum=1)
SLACK_WEBHOOK_URL = env_url("SLACK_WEBHOOK_URL", ("http", "https"))
SLACK_WEBHOOK_VERBOSITY = env_choice(
    "SLACK_WEBHOOK_VERBOSITY", "MUTATIONS", ("MUTATIONS", "QUERIES", "ALL")
)
WEBHOOK_URL = env_url("WEBHOOK_URL", ("http", "https"))
# What the webhook receives: flex (the document), cloudevents or ocsf; flex/checks.py checks it.
WEBHOOK_FORMAT = env_str("WEBHOOK_FORMAT", "flex")
FLEX_AUDIT_SINK_TIMEOUT = env_int("FLEX_AUDIT_SINK_TIMEOUT", 5, minimum=1, maximum=60)
# Seconds a worker holds the outbox rows it claimed; a worker that dies mid-batch leaves them
# to the others after this. Longer than a batch can take (Slack: 10 posts of the sink timeout).
FLEX_AUDIT_LEASE_SECONDS = env_int("FLEX_AUDIT_LEASE_SECONDS", 120, minimum=5, maximum=3600)

# Approvals (Stage policies) and temporary policies.
FLEX_APPROVAL_TTL_SECONDS = env_int("FLEX_APPROVAL_TTL_SECONDS", 86400, minimum=60)
FLEX_TEMPORARY_POLICY_MAX_SECONDS = env_int(
    "FLEX_TEMPORARY_POLICY_MAX_SECONDS", 3600, minimum=1, maximum=30 * 24 * 3600
)

# Topics.
FLEX_PRODUCE_MAX_BYTES = env_int("FLEX_PRODUCE_MAX_BYTES", 1024 * 1024, minimum=1)
# Messages one page of the message browser may scan to find its matches (then: partial).
FLEX_READ_SCAN_MAX = env_int("FLEX_READ_SCAN_MAX", 10_000, minimum=1, maximum=1_000_000)
# A produce form carries the message (form-encoded, so up to about twice its size): let the
# topic pages answer "too large" themselves instead of Django refusing the body.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, 2 * FLEX_PRODUCE_MAX_BYTES + 65_536)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Tokens first: a refused or missing one is a 401 with WWW-Authenticate.
        "flex.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, with JSON nested too deeply refused as a parse error (lib/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "lib.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Errors as {"error": code, "detail": message}; nothing unexpected becomes a 500.
    "EXCEPTION_HANDLER": "lib.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flex API",
    "DESCRIPTION": (
        "Kafka topics, the audit log, the RBAC simulator and the data-policy sandbox. "
        "Authenticate with the session (signed in) or `Authorization: Token <key>` (tokens "
        'are made in Django admin). Every error is `{"error": code, "detail": message}`; '
        "an operation's answer also names the `audit_record` it left."
    ),
    "VERSION": "1",
    # /api/docs/ serves Swagger UI from drf-spectacular-sidecar's bundled files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayOperationId": True},
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,  # the schema does not describe itself
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # StreamHandler writes to stderr: with DEBUG off too, every 5xx leaves its traceback there.
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "flex": {"handlers": ["console"], "level": "INFO"},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "kafka": {"handlers": ["console"], "level": "CRITICAL"},
    },
}

# Production (README "Deploying"): behind a proxy, hardened, observable.
# Peers whose X-Forwarded-For / X-Forwarded-Proto Flex believes (flex/proxy.py); none by default.
FLEX_TRUSTED_PROXIES = env_networks("FLEX_TRUSTED_PROXIES")
SECURE_HSTS_SECONDS = env_int("FLEX_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Behind TLS (SITE_URL https, DEBUG off) plain-http requests are redirected, except the probes
# and metrics an orchestrator or Prometheus may call on the private address.
SECURE_SSL_REDIRECT = env_bool("FLEX_SSL_REDIRECT", not DEBUG and SITE_URL.startswith("https://"))
SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^readyz$", r"^healthz$", r"^metrics$"]
# HSTS preload is a commitment to browsers' lists that only the domain's owner can make.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
FLEX_TOKEN_TTL_DAYS = env_int("FLEX_TOKEN_TTL_DAYS", 90, minimum=1, maximum=3650)
FLEX_METRICS_TOKEN = env_secret("FLEX_METRICS_TOKEN")
FLEX_READY_MAX_BACKLOG = env_int("FLEX_READY_MAX_BACKLOG", 10_000, minimum=0)
# Shared by every process (sign-in throttling, refused-token records): Redis when configured.
# Its own alias, so the default (per-process) cache keeps working when Redis is down.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "shared": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shared"},
}
if REDIS_URL:
    CACHES["shared"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CELERY_TASK_DEFAULT_QUEUE,
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
