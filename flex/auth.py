"""Sign-in: GitHub and GitHub Enterprise through social-auth, local accounts when allowed.

``settings.SOCIAL_AUTH_PIPELINE`` runs social-auth's own steps with these:
``refuse_signed_in``, ``verified_email``, ``org_roles`` (refuses people outside
``GITHUB_ORG`` before any user exists, and reads their org role and teams),
``store_profile`` (identity and roles into ``rbac.models.Profile``) and
``record_sign_in``.

Every sign-in, sign-out and refused sign-in leaves exactly one audit record, written
here by the pipeline, the sign-in/out views and ``SignInErrorMiddleware`` — not by
Django's login signals, which test helpers such as ``Client.force_login`` fire too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urljoin

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from social_core.backends.base import BaseAuth
from social_core.exceptions import AuthPolicyError, AuthResponseError, SocialAuthBaseException
from social_django import views as social_views
from social_django.middleware import SocialAuthExceptionMiddleware

from audit.gate import ctx_from_request, record_event
from audit.models import AuditRecord
from flex import throttle
from rbac.door import is_admin
from rbac.models import Profile
from rbac.roles import Actor, actor_for_user, forget

LOGIN, LOGOUT, REFUSED = "auth/login", "auth/logout", "auth/login-refused"
THROTTLED = (
    f"Too many failed sign-ins for this account or from this address: sign-in is refused "
    f"for up to {throttle.SIGN_IN_WINDOW // 60} minutes."
)
ORG_ROLES = ("admin", "member")
TEAMS_PER_PAGE = 100
TEAMS_MAX_PAGES = 20


class LocalBackend(ModelBackend):
    """Username and password, answered only while ``FLEX_LOCAL_LOGIN`` is on.

    It stays listed either way: Django admin permissions come from ModelBackend for
    every user, however they signed in.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.FLEX_LOCAL_LOGIN:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class SignInRefused(AuthPolicyError):
    """Flex's own policy refuses this person (not an org member, deactivated, …)."""

    def __init__(
        self, backend: BaseAuth, *, login: str, reason: str, code: str = "membership_required"
    ) -> None:
        super().__init__(backend, reason, code=code, stage="pipeline")
        self.login = login
        self.reason = reason


def sign_in_providers() -> list[dict[str, str]]:
    """The configured GitHub providers as ``{"name", "title"}``, in settings order."""
    providers = []
    for dotted in settings.AUTHENTICATION_BACKENDS:
        backend = import_string(dotted)
        if isinstance(backend, type) and issubclass(backend, BaseAuth):
            providers.append({"name": backend.name, "title": backend.title})
    return providers


# Audit records -----------------------------------------------------------------------


def record_sign_in_event(request: HttpRequest, actor: Actor, *, provider: str) -> None:
    record_event(
        actor=actor,
        type=LOGIN,
        event=LOGIN,
        request={"provider": provider, "roles": actor.named_roles},
        ctx=ctx_from_request(request),
    )


def record_sign_out_event(request: HttpRequest, actor: Actor) -> None:
    record_event(
        actor=actor,
        type=LOGOUT,
        event=LOGOUT,
        request={"provider": actor.provider},
        ctx=ctx_from_request(request),
    )


def record_refused_event(
    request: HttpRequest,
    *,
    provider: str,
    login: str,
    error: str,
    status: str = AuditRecord.DENIED,
) -> None:
    """A sign-in that did not happen: the login tried (when known) and why."""
    login = (login or "")[:150]
    record_event(
        actor=None,
        type=REFUSED,
        event=REFUSED,
        request={"provider": provider, "login": login},
        ctx=ctx_from_request(request),
        status=status,
        error=error,
        user={"provider": provider, "email": "", "name": "", "login": login, "id": None},
    )


# GitHub API --------------------------------------------------------------------------


def _github_get(backend: BaseAuth, token: str, path: str, params: dict | None = None) -> Any:
    """GET the provider's REST API with the user's token, through the backend's HTTP
    client so every failure is a social-auth error (and so an error page, not a 500)."""
    url = urljoin(backend.api_url(), path)
    headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
    return backend.get_json(url, headers=headers, params=params, stage="pipeline")


def org_role(backend: BaseAuth, token: str, org: str) -> str | None:
    """``admin`` or ``member`` for an active member of ``org``; None for anyone else."""
    try:
        membership = _github_get(backend, token, f"user/memberships/orgs/{quote(org)}")
    except SocialAuthBaseException as exc:
        if exc.status_code in (403, 404):  # GitHub hides orgs you are not in
            return None
        raise
    if not isinstance(membership, dict) or membership.get("state") != "active":
        return None
    role = membership.get("role")
    return role if role in ORG_ROLES else None


def org_teams(backend: BaseAuth, token: str, org: str) -> list[str]:
    """The slugs of the user's teams in ``org`` (``/user/teams`` lists every org's)."""
    slugs: list[str] = []
    for page in range(1, TEAMS_MAX_PAGES + 1):
        params = {"per_page": TEAMS_PER_PAGE, "page": page}
        teams = _github_get(backend, token, "user/teams", params)
        if not isinstance(teams, list):
            raise AuthResponseError(backend, code="malformed_response", stage="pipeline")
        for team in teams:
            if not isinstance(team, dict) or not isinstance(team.get("organization"), dict):
                continue
            owner, slug = team["organization"].get("login") or "", team.get("slug")
            if slug and owner.lower() == org.lower() and slug not in slugs:
                slugs.append(slug)
        if len(teams) < TEAMS_PER_PAGE:
            break
    return slugs


def primary_verified_email(response: dict) -> str:
    """The primary verified address from ``/user/emails``, else any verified one;
    the profile's public email when the list could not be read."""
    emails = response.get("emails")
    if not isinstance(emails, list):
        return response.get("email") or ""
    verified = [e for e in emails if isinstance(e, dict) and e.get("verified") and e.get("email")]
    primary = [e for e in verified if e.get("primary")]
    chosen = primary or verified
    return chosen[0]["email"] if chosen else ""


# Pipeline steps ----------------------------------------------------------------------


def _login_of(response: dict, details: dict) -> str:
    return response.get("login") or details.get("username") or ""


def refuse_signed_in(strategy, backend, details, response, *args, **kwargs) -> None:
    """Someone already signed in does not sign in again (nor link a second identity)."""
    if strategy.request.user.is_authenticated:
        raise SignInRefused(
            backend,
            login=_login_of(response, details),
            reason="You are already signed in to Flex. Sign out first to switch accounts.",
            code="authentication_disallowed",
        )


def verified_email(backend, details, response, *args, **kwargs) -> dict:
    details["email"] = primary_verified_email(response)
    return {"details": details}


def org_roles(backend, details, response, *args, **kwargs) -> dict:
    """Refuse non-members of ``GITHUB_ORG``; the roles: org role, then team slugs."""
    org = settings.GITHUB_ORG
    if not org:
        return {"flex_roles": []}
    token = response.get("access_token") or ""
    login = _login_of(response, details)
    role = org_role(backend, token, org)
    if role is None:
        raise SignInRefused(
            backend,
            login=login,
            reason=f"Sign-in refused: {login} is not a member of the {org} "
            f"organization on {backend.title}. Ask an owner of {org} to add you.",
        )
    roles = [role]
    if settings.GITHUB_ROLE_FIELD == "teams":
        roles += [slug for slug in org_teams(backend, token, org) if slug not in roles]
    return {"flex_roles": roles}


def store_profile(backend, user, details, response, *args, flex_roles=(), **kwargs) -> None:
    """Store and refresh who this is, and their roles, at every sign-in."""
    if user is None:
        return
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.provider = backend.name
    profile.login = _login_of(response, details)[:150]
    profile.name = (response.get("name") or "")[:255]
    profile.email = (details.get("email") or "")[:254]
    profile.github_id = str(response.get("id") or "")
    profile.provider_roles = list(flex_roles)
    profile.save()
    user.flex_profile = profile  # what actor_for_user reads next
    forget(user)
    # Admin roles open Django admin (policies, access settings); nobody else needs it.
    if not user.is_superuser and user.is_staff != is_admin(user):
        user.is_staff = not user.is_staff
        user.save(update_fields=["is_staff"])
    if user.email != profile.email:
        user.email = profile.email
        user.save(update_fields=["email"])


def record_sign_in(strategy, backend, details, response, user=None, *args, **kwargs) -> None:
    if user is None:
        return
    if not user.is_active:
        raise SignInRefused(
            backend,
            login=_login_of(response, details),
            reason="Sign-in refused: this Flex account is deactivated.",
            code="authentication_disallowed",
        )
    record_sign_in_event(strategy.request, actor_for_user(user), provider=backend.name)


# Errors ------------------------------------------------------------------------------


class SignInErrorMiddleware(SocialAuthExceptionMiddleware):
    """social-auth's error middleware, with our messages and one audit record per failure.

    Any social-auth error — a bad ``state``, GitHub down, someone outside the org — sends
    the browser to ``SOCIAL_AUTH_LOGIN_ERROR_URL`` (``sign_in_error``) with a message and
    leaves an ``auth/login-refused`` record: ``denied`` when Flex or the session refused,
    ``failed`` when the provider or the configuration failed.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        response = super().process_exception(request, exception)
        if response is not None and isinstance(exception, SocialAuthBaseException):
            backend = getattr(request, "backend", None)
            status = self.get_error_status(request, exception)
            record_refused_event(
                request,
                provider=getattr(backend, "name", "unknown"),
                login=getattr(exception, "login", ""),
                error=self.get_message(request, exception),
                status=AuditRecord.FAILED if status >= 500 else AuditRecord.DENIED,
            )
        return response

    def get_message(self, request: HttpRequest, exception: Exception) -> str:
        if isinstance(exception, SignInRefused):
            return exception.reason
        title = getattr(getattr(request, "backend", None), "title", "GitHub")
        return f"Sign-in with {title} did not complete: {exception}"


# Views -------------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """The sign-in page: a POST button per provider, and the local form when it is on."""

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["providers"] = sign_in_providers()
        context["local_login"] = settings.FLEX_LOCAL_LOGIN
        return context

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = request.POST.get("username", "")
        if settings.FLEX_LOCAL_LOGIN and throttle.sign_in_throttled(username, _address(request)):
            record_refused_event(request, provider="local", login=username, error=THROTTLED)
            context = self.get_context_data(form=self.get_form(), throttled=THROTTLED)
            return self.render_to_response(context, status=429)
        if not settings.FLEX_LOCAL_LOGIN:
            record_refused_event(
                request,
                provider="local",
                login=request.POST.get("username", ""),
                error="local sign-in is off",
            )
            context = self.get_context_data(local_refused=True)
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        record_sign_in_event(self.request, actor_for_user(form.get_user()), provider="local")
        return response

    def form_invalid(self, form) -> HttpResponse:
        throttle.sign_in_failed(form.data.get("username", ""), _address(self.request))
        errors = [str(e) for errors in form.errors.values() for e in errors]
        record_refused_event(
            self.request,
            provider="local",
            login=form.data.get("username", ""),
            error=" ".join(errors) or "invalid sign-in",
        )
        return super().form_invalid(form)


def _address(request: HttpRequest) -> str:
    return ctx_from_request(request).client_ip


class SignOutView(auth_views.LogoutView):
    """Sign-out, POST only (Django's LogoutView answers GET with 405)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        actor = actor_for_user(request.user) if request.user.is_authenticated else None
        response = super().post(request, *args, **kwargs)
        if actor is not None:
            record_sign_out_event(request, actor)
        return response


@require_GET
@never_cache
@login_not_required
def sign_in_error(request: HttpRequest) -> HttpResponse:
    """Where a failed GitHub sign-in lands; the message comes through django.contrib.messages."""
    return render(request, "registration/login_error.html", {"providers": sign_in_providers()})


# social-auth's begin and complete views only: no disconnect (a Flex identity has one
# provider, and that would be an unaudited change) and no launch bridges.
social_urls = (
    [
        path("login/<str:backend>/", social_views.auth, name="begin"),
        path("complete/<str:backend>/", social_views.complete, name="complete"),
    ],
    "social",
)
