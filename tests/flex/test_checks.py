from __future__ import annotations

import pytest

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


# The primary Kafka cluster's TLS and SASL settings


@pytest.fixture
def kafka_security(settings):
    """Plaintext with no TLS or SASL setting: each test adds what it checks."""
    settings.KAFKA_SECURITY_PROTOCOL = "PLAINTEXT"
    for name in (*checks.SASL_SETTINGS, *checks.SSL_FILES):
        setattr(settings, name, "")
    return settings


def _pem(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_sasl_protocol_without_mechanism_user_and_password_is_an_error(kafka_security):
    kafka_security.KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
    kafka_security.KAFKA_SASL_USERNAME = "flex"
    [error] = checks.check_kafka_sasl(None)
    assert error.id == "flex.E001"
    assert "KAFKA_SASL_MECHANISM, KAFKA_SASL_PASSWORD are empty" in error.msg
    kafka_security.KAFKA_SASL_MECHANISM = "SCRAM-SHA-512"
    kafka_security.KAFKA_SASL_PASSWORD = "pw"
    assert checks.check_kafka_sasl(None) == []


def test_sasl_settings_with_a_protocol_without_sasl_are_a_warning(kafka_security):
    kafka_security.KAFKA_SECURITY_PROTOCOL = "SSL"
    kafka_security.KAFKA_SASL_MECHANISM = "PLAIN"
    kafka_security.KAFKA_SASL_USERNAME = "flex"
    [warning] = checks.check_kafka_sasl(None)
    assert warning.id == "flex.W007"
    assert "KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME are set" in warning.msg
    assert "KAFKA_SECURITY_PROTOCOL is SSL" in warning.msg


def test_an_ssl_file_that_does_not_exist_is_an_error_naming_the_variable(kafka_security, tmp_path):
    kafka_security.KAFKA_SECURITY_PROTOCOL = "SSL"
    kafka_security.KAFKA_SSL_CAFILE = str(tmp_path / "missing-ca.pem")
    [error] = checks.check_kafka_ssl_files(None)
    assert error.id == "flex.E002"
    assert error.msg.startswith("KAFKA_SSL_CAFILE names ") and "does not exist" in error.msg
    kafka_security.KAFKA_SSL_CAFILE = str(tmp_path)
    assert "is not a file" in checks.check_kafka_ssl_files(None)[0].msg
    kafka_security.KAFKA_SSL_CAFILE = _pem(tmp_path, "ca.pem", "-----BEGIN CERTIFICATE-----")
    assert checks.check_kafka_ssl_files(None) == []


def test_an_unreadable_ssl_file_is_an_error_naming_the_variable(
    kafka_security, tmp_path, monkeypatch
):
    kafka_security.KAFKA_SECURITY_PROTOCOL = "SSL"
    kafka_security.KAFKA_SSL_KEYFILE = _pem(tmp_path, "client.key", "secret")
    # chmod 000 would not stop root (the tests may run as root): ask access() to say no.
    monkeypatch.setattr(checks.os, "access", lambda path, mode: False)
    [error] = checks.check_kafka_ssl_files(None)
    assert error.id == "flex.E002"
    assert error.msg.startswith("KAFKA_SSL_KEYFILE names ") and "not readable" in error.msg


def test_a_client_certificate_without_its_key_is_an_error(kafka_security, tmp_path):
    kafka_security.KAFKA_SECURITY_PROTOCOL = "SSL"
    cert = _pem(tmp_path, "client.pem", "-----BEGIN CERTIFICATE-----\n")
    kafka_security.KAFKA_SSL_CERTFILE = cert
    [error] = checks.check_kafka_client_certificate(None)
    assert error.id == "flex.E003"
    assert "KAFKA_SSL_CERTFILE is set without KAFKA_SSL_KEYFILE" in error.msg
    kafka_security.KAFKA_SSL_KEYFILE = _pem(tmp_path, "client.key", "-----BEGIN PRIVATE KEY-----")
    assert checks.check_kafka_client_certificate(None) == []
    kafka_security.KAFKA_SSL_CERTFILE = ""
    [error] = checks.check_kafka_client_certificate(None)
    assert "KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE" in error.msg


def test_a_certificate_file_that_holds_its_key_needs_no_keyfile(kafka_security, tmp_path):
    kafka_security.KAFKA_SECURITY_PROTOCOL = "SSL"
    kafka_security.KAFKA_SSL_CERTFILE = _pem(
        tmp_path, "client.pem", "-----BEGIN CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n"
    )
    assert checks.check_kafka_client_certificate(None) == []


def test_ssl_files_with_a_protocol_without_tls_are_a_warning(kafka_security, tmp_path):
    kafka_security.KAFKA_SECURITY_PROTOCOL = "SASL_PLAINTEXT"
    kafka_security.KAFKA_SSL_CAFILE = _pem(tmp_path, "ca.pem", "-----BEGIN CERTIFICATE-----")
    [warning] = checks.check_kafka_ssl_without_tls(None)
    assert warning.id == "flex.W008"
    assert "KAFKA_SSL_CAFILE is set" in warning.msg
    kafka_security.KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
    assert checks.check_kafka_ssl_without_tls(None) == []


def test_the_default_plaintext_cluster_passes_every_kafka_check(kafka_security):
    for check in (
        checks.check_kafka_sasl,
        checks.check_kafka_ssl_files,
        checks.check_kafka_client_certificate,
        checks.check_kafka_ssl_without_tls,
    ):
        assert check(None) == []


def test_it_requires_a_signing_key_when_debug_is_off(settings):
    settings.DEBUG = False
    settings.FLEX_AUDIT_SIGNING_KEY_FILE = ""
    assert _ids(checks.check_audit_signing_key(None)) == ["flex.E004"]
    settings.DEBUG = True  # a development key is generated under var/
    assert checks.check_audit_signing_key(None) == []


def test_it_refuses_a_missing_or_unusable_signing_key(settings, tmp_path):
    from audit.signing import generate_key_file

    settings.DEBUG = False
    settings.FLEX_AUDIT_SIGNING_KEY_FILE = str(tmp_path / "missing.pem")
    (error,) = checks.check_audit_signing_key(None)
    assert error.id == "flex.E004" and "cannot be read" in error.msg
    (tmp_path / "rsa.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    settings.FLEX_AUDIT_SIGNING_KEY_FILE = str(tmp_path / "rsa.pem")
    assert "PKCS#8" in checks.check_audit_signing_key(None)[0].msg
    generate_key_file(tmp_path / "good.pem")
    settings.FLEX_AUDIT_SIGNING_KEY_FILE = str(tmp_path / "good.pem")
    assert checks.check_audit_signing_key(None) == []


@pytest.mark.parametrize("fmt", ["flex", "cloudevents", "ocsf"])
def test_it_accepts_each_webhook_format(settings, fmt):
    settings.WEBHOOK_FORMAT = fmt
    assert checks.check_webhook_format(None) == []


def test_it_refuses_an_unknown_webhook_format(settings):
    settings.WEBHOOK_FORMAT = "cef"
    (error,) = checks.check_webhook_format(None)
    assert error.id == "flex.E005" and "'cef'" in error.msg
