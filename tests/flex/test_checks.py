from __future__ import annotations

from flex import checks


def _ids(messages: list) -> list[str]:
    return [m.id for m in messages]


def test_it_warns_about_debug_with_public_hosts(settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["flex.example.com"]
    assert _ids(checks.check_debug_hosts(None)) == ["flex.W001"]
    settings.ALLOWED_HOSTS = ["localhost"]
    assert checks.check_debug_hosts(None) == []


def test_it_warns_about_slack_verbosity_without_webhook(settings, monkeypatch):
    settings.SLACK_WEBHOOK_URL = None
    monkeypatch.setenv("SLACK_WEBHOOK_VERBOSITY", "ALL")
    assert _ids(checks.check_slack_verbosity(None)) == ["flex.W002"]
    settings.SLACK_WEBHOOK_URL = "https://hooks.example.com/x"
    assert checks.check_slack_verbosity(None) == []


def test_it_warns_about_workers_on_sqlite(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3"}}
    assert _ids(checks.check_sqlite_with_workers(None)) == ["flex.W003"]
    settings.DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}
    assert checks.check_sqlite_with_workers(None) == []


def test_it_warns_when_retention_is_shorter_than_the_view(settings):
    settings.FLEX_AUDIT_RETENTION_DAYS = 3
    settings.FLEX_AUDIT_VIEW_DAYS = 7
    assert _ids(checks.check_retention_covers_view(None)) == ["flex.W004"]
    settings.FLEX_AUDIT_RETENTION_DAYS = 365
    assert checks.check_retention_covers_view(None) == []


def test_it_warns_about_plain_http_without_debug(settings):
    settings.DEBUG = False
    settings.SITE_URL = "http://flex.example.com"
    assert _ids(checks.check_secure_cookies(None)) == ["flex.W005"]
    settings.SITE_URL = "https://flex.example.com"
    assert checks.check_secure_cookies(None) == []


def test_it_warns_about_github_sign_in_without_an_org(settings):
    settings.SOCIAL_AUTH_GITHUB_KEY = "key"
    settings.GITHUB_ORG = ""
    assert _ids(checks.check_github_without_org(None)) == ["flex.W006"]
    settings.GITHUB_ORG = "acme"
    assert checks.check_github_without_org(None) == []
