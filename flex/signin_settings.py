"""Sign-in settings (README "Sign-in"), read from the environment: GitHub and GitHub
Enterprise through social-auth, each on when its key and secret are set; local
username/password only when FLEX_LOCAL_LOGIN says so. ``flex.settings`` takes them all."""

from __future__ import annotations

import re

from django.core.exceptions import ImproperlyConfigured

from flex.env import env_bool, env_choice, env_str, env_url

_HTTP = ("http", "https")
SOCIAL_AUTH_GITHUB_KEY = env_str("GITHUB_KEY")
SOCIAL_AUTH_GITHUB_SECRET = env_str("GITHUB_SECRET")
SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY = env_str("GITHUB_ENTERPRISE_KEY")
SOCIAL_AUTH_GITHUB_ENTERPRISE_SECRET = env_str("GITHUB_ENTERPRISE_SECRET")
SOCIAL_AUTH_GITHUB_ENTERPRISE_URL = env_url("GITHUB_ENTERPRISE_URL", _HTTP)
SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL = env_url("GITHUB_ENTERPRISE_API_URL", _HTTP) or (
    SOCIAL_AUTH_GITHUB_ENTERPRISE_URL and SOCIAL_AUTH_GITHUB_ENTERPRISE_URL.rstrip("/") + "/api/v3/"
)


def _provider_on(prefix: str) -> bool:
    key, secret = env_str(f"{prefix}_KEY"), env_str(f"{prefix}_SECRET")
    if key and not secret:
        raise ImproperlyConfigured(f"{prefix}_SECRET must be set together with {prefix}_KEY")
    if secret and not key:
        raise ImproperlyConfigured(f"{prefix}_KEY must be set together with {prefix}_SECRET")
    return bool(key)


SOCIAL_BACKENDS = []
if _provider_on("GITHUB"):
    SOCIAL_BACKENDS.append("social_core.backends.github.GithubOAuth2")
if _provider_on("GITHUB_ENTERPRISE"):
    if not SOCIAL_AUTH_GITHUB_ENTERPRISE_URL:
        raise ImproperlyConfigured("GITHUB_ENTERPRISE_URL must be set with GITHUB_ENTERPRISE_KEY")
    SOCIAL_BACKENDS.append("social_core.backends.github_enterprise.GithubEnterpriseOAuth2")
AUTHENTICATION_BACKENDS = ["flex.auth.LocalBackend", *SOCIAL_BACKENDS]
FLEX_LOCAL_LOGIN = env_bool("FLEX_LOCAL_LOGIN", not SOCIAL_BACKENDS)
GITHUB_ORG = env_str("GITHUB_ORG")
if GITHUB_ORG and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}", GITHUB_ORG):
    raise ImproperlyConfigured(
        f"GITHUB_ORG must be a GitHub organization login, not {GITHUB_ORG!r}"
    )
GITHUB_ROLE_FIELD = env_choice("GITHUB_ROLE_FIELD", "org", ("org", "teams"))
if GITHUB_ROLE_FIELD == "teams" and not GITHUB_ORG:
    raise ImproperlyConfigured("GITHUB_ROLE_FIELD=teams needs GITHUB_ORG (teams are read there)")

SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_GITHUB_SCOPE = ["read:org", "user:email"]
SOCIAL_AUTH_GITHUB_ENTERPRISE_SCOPE = ["read:org", "user:email"]
# No load_extra_data: Flex keeps no GitHub access token after sign-in. No associate_by_email:
# a GitHub identity never takes over an existing account by its address.
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_names",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "flex.auth.refuse_signed_in",
    "flex.auth.verified_email",
    "flex.auth.org_roles",  # refuses outsiders before any user exists
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.user.user_details",
    "flex.auth.store_profile",
    "flex.auth.record_sign_in",
)
SOCIAL_AUTH_LOGIN_URL = "/accounts/login/"
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/"
SOCIAL_AUTH_LOGIN_ERROR_URL = "/accounts/login/error/"
SOCIAL_AUTH_RAISE_EXCEPTIONS = False  # errors become our error page, with DEBUG on too
SOCIAL_AUTH_SANITIZE_REDIRECTS = True
