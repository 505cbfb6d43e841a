"""System checks that warn about configuration that parses but does not make sense."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

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
    import os

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
