"""System checks for configuration that parses but does not make sense (or cannot work)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "testserver"}


@register(Tags.security, deploy=False)
def check_debug_hosts(app_configs, **kwargs) -> list:
    public = [h for h in settings.ALLOWED_HOSTS if h not in LOCAL_HOSTS]
    if settings.DEBUG and public:
        return [
            Warning(
                "DEBUG is on while ALLOWED_HOSTS serves non-local hosts.",
                hint=f"Set DEBUG=false before serving {', '.join(public)}.",
                id="flex.W001",
            )
        ]
    return []


@register()
def check_slack_verbosity(app_configs, **kwargs) -> list:
    if os.environ.get("SLACK_WEBHOOK_VERBOSITY") and not settings.SLACK_WEBHOOK_URL:
        return [
            Warning(
                "SLACK_WEBHOOK_VERBOSITY is set but SLACK_WEBHOOK_URL is empty: "
                "nothing goes to Slack.",
                hint="Set SLACK_WEBHOOK_URL, or unset SLACK_WEBHOOK_VERBOSITY.",
                id="flex.W002",
            )
        ]
    return []


@register()
def check_sqlite_with_workers(app_configs, **kwargs) -> list:
    if settings.REDIS_URL and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return [
            Warning(
                "REDIS_URL starts Celery workers, but the database is a SQLite file.",
                hint="Set DATABASE_URL to PostgreSQL: the audit store's guarantees "
                "(append-only trigger, concurrent delivery) need it.",
                id="flex.W003",
            )
        ]
    return []


@register()
def check_retention_covers_view(app_configs, **kwargs) -> list:
    if settings.FLEX_AUDIT_RETENTION_DAYS < settings.FLEX_AUDIT_VIEW_DAYS:
        return [
            Warning(
                "FLEX_AUDIT_RETENTION_DAYS is shorter than FLEX_AUDIT_VIEW_DAYS: "
                "the Audit log would promise days that were purged.",
                hint="Keep records at least as long as the pages show them.",
                id="flex.W004",
            )
        ]
    return []


@register(Tags.security, deploy=False)
def check_secure_cookies(app_configs, **kwargs) -> list:
    if not settings.DEBUG and settings.SITE_URL.startswith("http://"):
        return [
            Warning(
                "SITE_URL is plain http while DEBUG is off: secure cookies will not be sent back.",
                hint="Serve Flex over https and set SITE_URL to its https address.",
                id="flex.W005",
            )
        ]
    return []


@register(Tags.security)
def check_github_without_org(app_configs, **kwargs) -> list:
    providers = settings.SOCIAL_AUTH_GITHUB_KEY or settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY
    if providers and not settings.GITHUB_ORG:
        return [
            Warning(
                "GitHub sign-in is on without GITHUB_ORG: any GitHub account can sign in "
                "(with no GitHub roles).",
                hint="Set GITHUB_ORG, or keep authorized_roles narrower than '*'.",
                id="flex.W006",
            )
        ]
    return []


# The primary Kafka cluster's TLS and SASL settings ------------------------------------------

SASL_SETTINGS = ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")
SSL_FILES = ("KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE", "KAFKA_SSL_KEYFILE")


def _uses_sasl() -> bool:
    return settings.KAFKA_SECURITY_PROTOCOL.startswith("SASL_")


def _uses_ssl() -> bool:
    return settings.KAFKA_SECURITY_PROTOCOL in ("SSL", "SASL_SSL")


@register()
def check_kafka_sasl(app_configs, **kwargs) -> list:
    missing = [name for name in SASL_SETTINGS if not getattr(settings, name)]
    protocol = settings.KAFKA_SECURITY_PROTOCOL
    if _uses_sasl() and missing:
        return [
            Error(
                f"KAFKA_SECURITY_PROTOCOL is {protocol} but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} empty: Flex cannot sign in to Kafka.",
                hint="Set KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512), "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD.",
                id="flex.E001",
            )
        ]
    given = [name for name in SASL_SETTINGS if getattr(settings, name)]
    if not _uses_sasl() and given:
        return [
            Warning(
                f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} set but "
                f"KAFKA_SECURITY_PROTOCOL is {protocol}: Flex does not use SASL.",
                hint="Set KAFKA_SECURITY_PROTOCOL to SASL_SSL (or SASL_PLAINTEXT), "
                "or unset the SASL variables.",
                id="flex.W007",
            )
        ]
    return []


@register()
def check_kafka_ssl_files(app_configs, **kwargs) -> list:
    errors = []
    for name in SSL_FILES:
        path = getattr(settings, name)
        if not path:
            continue
        if not os.path.isfile(path):
            problem = "does not exist" if not os.path.exists(path) else "is not a file"
        elif not os.access(path, os.R_OK):
            problem = "is not readable by this process"
        else:
            continue
        errors.append(
            Error(
                f"{name} names {path}, which {problem}.",
                hint="Point it at a PEM file that Flex (and its Celery workers) can read.",
                id="flex.E002",
            )
        )
    return errors


def _holds_private_key(path: str) -> bool:
    try:
        with open(path, "rb") as pem:
            return b"PRIVATE KEY-----" in pem.read(1024 * 1024)
    except OSError:
        return False  # E002 reports the file itself


@register()
def check_kafka_client_certificate(app_configs, **kwargs) -> list:
    cert, key = settings.KAFKA_SSL_CERTFILE, settings.KAFKA_SSL_KEYFILE
    if key and not cert:
        message = "KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE: the key alone is unused."
    elif cert and not key and not _holds_private_key(cert):
        message = (
            "KAFKA_SSL_CERTFILE is set without KAFKA_SSL_KEYFILE, and holds no private key: "
            "the client certificate cannot be presented."
        )
    else:
        return []
    return [
        Error(
            message,
            hint="Set both (or a KAFKA_SSL_CERTFILE that holds certificate and key), or neither.",
            id="flex.E003",
        )
    ]


@register()
def check_kafka_ssl_without_tls(app_configs, **kwargs) -> list:
    given = [name for name in SSL_FILES if getattr(settings, name)]
    if given and not _uses_ssl():
        return [
            Warning(
                f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} set but "
                f"KAFKA_SECURITY_PROTOCOL is {settings.KAFKA_SECURITY_PROTOCOL}: "
                "Flex connects without TLS.",
                hint="Set KAFKA_SECURITY_PROTOCOL to SSL (or SASL_SSL), or unset the SSL files.",
                id="flex.W008",
            )
        ]
    return []


# The audit ledger and the webhook's format -------------------------------------------------


@register(Tags.security)
def check_audit_signing_key(app_configs, **kwargs) -> list:
    from pathlib import Path

    from audit.signing import SigningKeyError, load_signer

    path = settings.FLEX_AUDIT_SIGNING_KEY_FILE
    if not path:
        if settings.DEBUG:
            return []  # a development key is made under var/
        message = "FLEX_AUDIT_SIGNING_KEY_FILE is not set: audit records cannot be signed."
    else:
        try:
            load_signer(Path(path))
            return []
        except SigningKeyError as exc:
            message = f"FLEX_AUDIT_SIGNING_KEY_FILE: {exc}."
    return [
        Error(
            message,
            hint="Point it at an Ed25519 private key in PKCS#8 PEM that Flex and its workers "
            "can read (openssl genpkey -algorithm ed25519 -out audit-signing.pem).",
            id="flex.E004",
        )
    ]


@register()
def check_webhook_format(app_configs, **kwargs) -> list:
    from audit.formats import FORMATS

    if settings.WEBHOOK_FORMAT not in FORMATS:
        return [
            Error(
                f"WEBHOOK_FORMAT is {settings.WEBHOOK_FORMAT!r}: Flex knows {', '.join(FORMATS)}.",
                hint="Set WEBHOOK_FORMAT to flex (the document), cloudevents or ocsf.",
                id="flex.E005",
            )
        ]
    return []
