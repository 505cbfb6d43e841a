from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from flex.env import (
    env_bool,
    env_bootstrap,
    env_choice,
    env_int,
    env_list,
    env_path,
    env_secret,
    env_url,
)


def test_it_reads_defaults_when_unset():
    assert env_bool("X", True, env={}) is True
    assert env_int("X", 7, env={"X": ""}) == 7
    assert env_list("X", ["a"], env={}) == ["a"]
    assert env_bootstrap("X", "127.0.0.1:9092", env={}) == "127.0.0.1:9092"


@pytest.mark.parametrize(
    ("reader", "value", "fragment"),
    [
        (lambda env: env_bool("DEBUG", False, env=env), "maybe", "DEBUG must be true or false"),
        (lambda env: env_int("FLEX_AUDIT_VIEW_DAYS", 7, env=env, minimum=1), "seven", "whole"),
        (lambda env: env_int("FLEX_AUDIT_VIEW_DAYS", 7, env=env, minimum=1), "0", "at least 1"),
        (lambda env: env_list("ALLOWED_HOSTS", [], env=env), "a,,b", "empty item"),
        (lambda env: env_url("REDIS_URL", ("redis",), env=env), "http://x", "redis://"),
        (lambda env: env_url("SLACK_WEBHOOK_URL", ("https",), env=env), "https://", "no host"),
        (lambda env: env_bootstrap("KAFKA_BOOTSTRAP_SERVERS", "", env=env), "host", "host:port"),
        (lambda env: env_bootstrap("KAFKA_BOOTSTRAP_SERVERS", "", env=env), "h:99999", "host:port"),
        (lambda env: env_choice("SLACK_WEBHOOK_VERBOSITY", "A", ("A",), env=env), "x", "one of"),
        (lambda env: env_path("KAFKA_SSL_CAFILE", env=env), "/a\nb", "must be a file path"),
    ],
)
def test_it_rejects_malformed_values_naming_the_variable(reader, value, fragment):
    name_env = {
        "DEBUG": value,
        "FLEX_AUDIT_VIEW_DAYS": value,
        "ALLOWED_HOSTS": value,
        "REDIS_URL": value,
        "SLACK_WEBHOOK_URL": value,
        "KAFKA_BOOTSTRAP_SERVERS": value,
        "SLACK_WEBHOOK_VERBOSITY": value,
        "KAFKA_SSL_CAFILE": value,
    }
    with pytest.raises(ImproperlyConfigured) as info:
        reader(name_env)
    assert fragment in str(info.value)


def test_it_reads_paths_as_absolute_and_secrets_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert env_path("KAFKA_SSL_CAFILE", env={"KAFKA_SSL_CAFILE": "ca.pem"}) == str(
        tmp_path / "ca.pem"
    )
    assert env_path("KAFKA_SSL_CAFILE", env={}) == ""
    assert env_secret("KAFKA_SASL_PASSWORD", env={"KAFKA_SASL_PASSWORD": " pw "}) == " pw "
    assert env_secret("KAFKA_SASL_PASSWORD", env={"KAFKA_SASL_PASSWORD": "  "}) == ""


def test_it_reads_kafka_security_choices_in_any_case():
    assert env_choice("P", "", ("SCRAM-SHA-256",), env={"P": "scram-sha-256"}) == "SCRAM-SHA-256"


def _start(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={"PATH": "/usr/bin:/bin", "FLEX_VAR_DIR": "/tmp/flex-env-test", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_malformed_variable_stops_start_up_with_its_name():
    result = _start({"KAFKA_BOOTSTRAP_SERVERS": "no-port-here"})
    assert result.returncode != 0
    assert "KAFKA_BOOTSTRAP_SERVERS must be comma-separated host:port pairs" in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    result = _start({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_starts_with_embedded_defaults():
    result = _start({})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [("KAFKA_SECURITY_PROTOCOL", "TLS"), ("KAFKA_SASL_MECHANISM", "GSSAPI")],
)
def test_a_malformed_kafka_security_setting_stops_start_up(name, value):
    result = _start({name: value})
    assert result.returncode != 0
    assert f"{name} must be one of" in result.stderr


def test_a_sasl_protocol_without_credentials_stops_start_up_with_flex_e001():
    result = _start({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    assert result.returncode != 0
    assert "flex.E001" in result.stderr
