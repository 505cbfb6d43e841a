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
    "rest_framework.authtoken",
    "drf_spectacular",
    "flex",
    "rbac",
    "audit",
    "topics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
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
            "OPTIONS": {"timeout": 20},
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
CELERY_BEAT_SCHEDULE: dict = {}

# Kafka: the primary cluster.
KAFKA_BOOTSTRAP_SERVERS = env_bootstrap("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
KAFKA_TIMEOUT_MS = env_int("FLEX_KAFKA_TIMEOUT_MS", 3000, minimum=100, maximum=60000)

# Audit.
FLEX_AUDIT_TOPIC = env_str("FLEX_AUDIT_TOPIC", "__oprtr_audit_log")
FLEX_AUDIT_CAPTURE_PAYLOADS = env_choice("FLEX_AUDIT_CAPTURE_PAYLOADS", "hash", ("hash", "full"))
FLEX_AUDIT_VIEW_DAYS = env_int("FLEX_AUDIT_VIEW_DAYS", 7, minimum=1, maximum=366)
FLEX_AUDIT_RETENTION_DAYS = env_int("FLEX_AUDIT_RETENTION_DAYS", 365, minimum=1)
SLACK_WEBHOOK_URL = env_url("SLACK_WEBHOOK_URL", ("http", "https"))
SLACK_WEBHOOK_VERBOSITY = env_choice(
    "SLACK_WEBHOOK_VERBOSITY", "MUTATIONS", ("MUTATIONS", "QUERIES", "ALL")
)
WEBHOOK_URL = env_url("WEBHOOK_URL", ("http", "https"))

# Topics.
FLEX_PRODUCE_MAX_BYTES = env_int("FLEX_PRODUCE_MAX_BYTES", 1024 * 1024, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "Flex API", "VERSION": "1"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "flex": {"handlers": ["console"], "level": "INFO"},
        "kafka": {"handlers": ["console"], "level": "CRITICAL"},
    },
}
