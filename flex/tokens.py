"""API tokens: issued to a user, stored as a SHA-256 digest, expiring, revocable.

A token is ``flex_`` and 43 URL-safe characters; only its digest and its first characters
(``prefix``) are kept, so it is shown once, when it is made. It authenticates as
``Authorization: Token <token>`` (``Bearer`` is accepted too) until ``expires_at``
(``FLEX_TOKEN_TTL_DAYS`` after creation) or until its owner revokes it.

Making, listing and revoking go through the gate like every action (``auth/token-create``,
``query/list-tokens``, ``auth/token-revoke``): the door admits the user, one record each.
A refused token answers 401 with ``WWW-Authenticate`` and leaves an ``auth/api-refused``
record — at most ``flex.throttle.API_REFUSED_RECORDS`` a minute from one address.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from audit.gate import Operation, Outcome, ctx_from_request, perform, record_event, who
from audit.models import AuditRecord
from flex import throttle
from flex.models import ApiToken
from lib.errors import InvalidRequest, OperationError
from rbac.roles import actor_for_user

TOKEN_PREFIX = "flex_"
SHOWN_PREFIX = 12  # "flex_" and 7 characters: enough to tell tokens apart, useless to guess
NAME_MAX = 100
API_REFUSED = "auth/api-refused"
TOKEN_EVENTS = ("auth/token-create", "query/list-tokens", "auth/token-revoke")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_json(token: ApiToken) -> dict:
    """A token as listed: never its secret."""
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "expired": token.expires_at <= timezone.now(),
    }


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("name: give the token a name (what or who uses it)")
    name = name.strip()
    if len(name) > NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidRequest(f"name: at most {NAME_MAX} printable characters")
    return name


def issue(user, name: str) -> tuple[ApiToken, str]:
    """Store a new token for ``user``; the token itself, which is kept nowhere."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        digest=digest(secret),
        prefix=secret[:SHOWN_PREFIX],
        expires_at=timezone.now() + timedelta(days=settings.FLEX_TOKEN_TTL_DAYS),
    )
    return token, secret


def _resource(user, name: str = "*") -> list[str]:
    return ["user", user.get_username(), "token", name]


def _perform(request: HttpRequest, via: str, operation: Operation) -> Outcome:
    actor, _, ctx = who(request, via=via)
    return perform(actor, operation, ctx)


def token_create(request: HttpRequest, *, name: object, via: str) -> Outcome:
    """Make a token for the signed-in user; ``result`` is ``(ApiToken, secret)``."""
    user = request.user
    shown = name.strip()[:NAME_MAX] if isinstance(name, str) else ""

    def execute() -> tuple[ApiToken, str]:
        return issue(user, _clean_name(name))

    operation = Operation(
        event="auth/token-create",
        action="",
        resource=_resource(user, shown),
        request={"name": shown, "ttl-days": settings.FLEX_TOKEN_TTL_DAYS},
        execute=execute,
        type="auth/token",
    )
    return _perform(request, via, operation)


def tokens_of(user) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user, revoked_at=None))


def token_list(request: HttpRequest, *, via: str) -> Outcome:
    """The signed-in user's tokens that are not revoked, newest first; ``result`` is a list."""
    user = request.user
    operation = Operation(
        event="query/list-tokens",
        action="",
        resource=_resource(user),
        request={},
        execute=lambda: tokens_of(user),
        type="query/request",
    )
    return _perform(request, via, operation)


def token_revoke(request: HttpRequest, *, token_id: int, via: str) -> Outcome:
    """Revoke one of the signed-in user's own tokens; someone else's is not found."""
    user = request.user
    token = ApiToken.objects.filter(user=user, pk=token_id, revoked_at=None).first()

    def execute() -> ApiToken:
        if token is None:
            raise OperationError(f"you have no token {token_id}", code="not_found", status=404)
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        if updated != 1:
            raise OperationError(f"token {token_id} is revoked", code="not_found", status=404)
        return token

    operation = Operation(
        event="auth/token-revoke",
        action="",
        resource=_resource(user, token.name if token else str(token_id)),
        request={"id": token_id, "prefix": token.prefix if token else ""},
        execute=execute,
        type="auth/token",
    )
    return _perform(request, via, operation)


# Authentication ------------------------------------------------------------------------


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <token>`` (or ``Bearer``) against the stored digests."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise self.refuse(request, "malformed", "Authorization: Token <token>, one token")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise self.refuse(request, "malformed", "the token is not ASCII") from None
        token = ApiToken.objects.select_related("user").filter(digest=digest(secret)).first()
        now = timezone.now()
        if token is None:
            raise self.refuse(request, "unknown", "invalid token", secret=secret)
        if token.revoked_at is not None:
            raise self.refuse(request, "revoked", "this token is revoked", token=token)
        if token.expires_at <= now:
            raise self.refuse(request, "expired", "this token has expired", token=token)
        if not token.user.is_active:
            raise self.refuse(request, "inactive", "this account is deactivated", token=token)
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Token realm="flex"'

    def refuse(
        self, request, reason: str, detail: str, *, token: ApiToken | None = None, secret: str = ""
    ) -> exceptions.AuthenticationFailed:
        prefix = token.prefix if token else secret[:SHOWN_PREFIX]
        record_api_refused(request, reason=reason, detail=detail, prefix=prefix, owner=token)
        return exceptions.AuthenticationFailed(detail)


def record_api_refused(
    request: HttpRequest, *, reason: str, detail: str, prefix: str = "", owner=None
) -> AuditRecord | None:
    """One ``auth/api-refused`` record, unless this address has had its share this minute."""
    ctx = ctx_from_request(getattr(request, "_request", request), via="api")
    if not throttle.api_refusal_recordable(ctx.client_ip):
        return None
    user = actor_for_user(owner.user).as_record() if owner is not None else {}
    return record_event(
        actor=None,
        type=API_REFUSED,
        event=API_REFUSED,
        request={
            "method": request.method,
            "path": request.path[:300],
            "reason": reason,
            "token-prefix": prefix if prefix.startswith(TOKEN_PREFIX) else "",
        },
        ctx=ctx,
        status=AuditRecord.DENIED,
        error=detail,
        user=user,
    )


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the API schema describes token authentication."""

    target_class = "flex.tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token from /settings/tokens/: "Token <token>"',
        }
