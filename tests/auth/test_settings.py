"""Sign-in configuration read from the environment: what turns providers on, what stops start-up."""

from __future__ import annotations

import json
import subprocess
import sys

# Reads flex/settings.py afresh once per environment, in one child process.
READ = """
import importlib, json, os, sys
from django.core.exceptions import ImproperlyConfigured
base = dict(os.environ)
for env in json.loads(sys.argv[1]):
    os.environ.clear(); os.environ.update(base); os.environ.update(env)
    for name in ("flex.settings", "flex.signin_settings"):  # the sign-in part is its own module
        sys.modules.pop(name, None)
    try:
        s = importlib.import_module("flex.settings")
    except ImproperlyConfigured as exc:
        print(json.dumps({"error": str(exc)}))
        continue
    print(json.dumps({
        "local": s.FLEX_LOCAL_LOGIN,
        "backends": s.AUTHENTICATION_BACKENDS,
        "api": s.SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL,
    }))
"""
BASE_ENV = {"PATH": "/usr/bin:/bin", "FLEX_VAR_DIR": "/tmp/flex-sso-settings-test"}
GHE = {
    "GITHUB_ENTERPRISE_URL": "https://github.acme.example/",
    "GITHUB_ENTERPRISE_KEY": "k",
    "GITHUB_ENTERPRISE_SECRET": "s",
}
GITHUB_COM = {"GITHUB_KEY": "a", "GITHUB_SECRET": "b"}
LOCAL = "flex.auth.LocalBackend"
GITHUB_BACKEND = "social_core.backends.github.GithubOAuth2"
GHE_BACKEND = "social_core.backends.github_enterprise.GithubEnterpriseOAuth2"

MALFORMED = [
    ({**GHE, "GITHUB_ENTERPRISE_URL": "github.acme.example"}, "GITHUB_ENTERPRISE_URL must be"),
    ({**GHE, "GITHUB_ENTERPRISE_API_URL": "ftp://x/"}, "GITHUB_ENTERPRISE_API_URL must be"),
    ({**GHE, "GITHUB_ENTERPRISE_URL": ""}, "GITHUB_ENTERPRISE_URL must be set"),
    ({"GITHUB_KEY": "a"}, "GITHUB_SECRET must be set"),
    ({"GITHUB_ENTERPRISE_SECRET": "s"}, "GITHUB_ENTERPRISE_KEY must be set"),
    ({"GITHUB_ORG": "not an org!"}, "GITHUB_ORG must be"),
    ({"GITHUB_ROLE_FIELD": "teams"}, "GITHUB_ROLE_FIELD=teams needs GITHUB_ORG"),
    ({"GITHUB_ORG": "acme", "GITHUB_ROLE_FIELD": "groups"}, "GITHUB_ROLE_FIELD must be"),
    ({"FLEX_LOCAL_LOGIN": "sometimes"}, "FLEX_LOCAL_LOGIN must be"),
]


def _read(*envs: dict) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-c", READ, json.dumps(list(envs))],
        env=BASE_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_providers_are_on_by_key_and_secret_and_turn_local_sign_in_off():
    nothing, enterprise, both, both_and_local = _read(
        {}, GHE, {**GHE, **GITHUB_COM}, {**GHE, "FLEX_LOCAL_LOGIN": "true"}
    )
    assert nothing == {"local": True, "backends": [LOCAL], "api": None}
    assert enterprise["backends"] == [LOCAL, GHE_BACKEND]
    assert enterprise["local"] is False
    assert enterprise["api"] == "https://github.acme.example/api/v3/"
    assert both["backends"] == [LOCAL, GITHUB_BACKEND, GHE_BACKEND]
    assert both_and_local["local"] is True


def test_malformed_sign_in_settings_are_refused_naming_the_variable():
    answers = _read(*(env for env, _ in MALFORMED))
    for (_, message), answer in zip(MALFORMED, answers, strict=True):
        assert message in answer.get("error", ""), (message, answer)


def test_a_malformed_sign_in_setting_stops_start_up():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={**BASE_ENV, **GHE, "GITHUB_ENTERPRISE_URL": "github.acme.example"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "GITHUB_ENTERPRISE_URL must be a URL" in result.stderr
