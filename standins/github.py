"""A loopback GitHub Enterprise stand-in speaking GitHub's real OAuth and REST endpoints.

Tests drive social-auth's real ``github-enterprise`` backend against it (nothing in
social-auth is patched), and ``make demo`` runs it as a process of its own:
``python -m standins.github`` serves the demo users and prints its address.

Endpoints, with GitHub's paths and JSON:

- ``GET  /login/oauth/authorize`` — signs in as ``?login=`` (or ``sign_in_as``) and
  redirects to ``redirect_uri`` with ``code`` and ``state``; without a login it shows a
  small page to pick a user (the demo's "GitHub sign-in").
- ``POST /login/oauth/access_token`` — form or JSON body; answers JSON when the client
  accepts it, form-encoded otherwise; errors as GitHub sends them (200 with ``error``).
- ``GET  /api/v3/user``, ``/api/v3/user/emails`` (needs ``user:email``),
  ``/api/v3/user/memberships/orgs/{org}`` (404 for non-members, needs ``read:org``),
  ``/api/v3/user/teams`` (every org's teams, paginated; needs ``read:org``).
"""

from __future__ import annotations

import argparse
import html
import json
import secrets
import signal
import sys
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from standins.http import Request, Response, StubServer

DOCS = "https://docs.github.com/enterprise-server@3.14/rest"
API = "/api/v3"


@dataclass
class GitHubUser:
    """A person on the stand-in: profile, addresses, membership of the org, teams.

    ``email`` is the public profile address (None when private). ``teams`` are slugs in
    the stand-in's org, or ``"other-org/slug"`` for a team elsewhere.
    """

    login: str
    id: int
    name: str | None = None
    email: str | None = None
    emails: list[dict] | None = None
    org_role: str | None = None  # "admin", "member", or None for an outsider
    org_state: str = "active"  # or "pending" (invited, not yet joined)
    teams: list[str] = field(default_factory=list)

    def email_list(self) -> list[dict]:
        if self.emails is not None:
            return self.emails
        address = self.email or f"{self.login}@users.noreply.example"
        visibility = "public" if self.email else "private"
        return [{"email": address, "primary": True, "verified": True, "visibility": visibility}]


def demo_users() -> list[GitHubUser]:
    """The people ``make demo`` offers: alice (org admin), bob (team platform), carol
    (private email), mallory (outsider)."""
    return [
        GitHubUser(
            "alice", 1001, "Alice Admin", "alice@acme.example", org_role="admin", teams=["admins"]
        ),
        GitHubUser(
            "bob",
            1002,
            "Bob Builder",
            "bob@acme.example",
            org_role="member",
            teams=["platform", "elsewhere/ops"],
        ),
        GitHubUser(
            "carol",
            1003,
            "Carol Checker",
            None,
            emails=[
                {"email": "carol@old.example", "primary": False, "verified": True},
                {"email": "carol@acme.example", "primary": True, "verified": True},
            ],
            org_role="member",
            teams=["auditors"],
        ),
        GitHubUser("mallory", 1666, "Mallory Outsider", "mallory@evil.example"),
    ]


class GitHubStandIn:
    """GitHub's OAuth app flow and the REST endpoints a sign-in reads, for one org."""

    def __init__(
        self,
        users: Iterable[GitHubUser] = (),
        *,
        org: str = "acme",
        client_id: str = "flex-client-id",
        client_secret: str = "flex-client-secret",
    ) -> None:
        self.org = org
        self.users = {user.login: user for user in users}
        self.client_id = client_id
        self.client_secret = client_secret
        self.sign_in_as: str | None = None  # authorize without asking, as this login
        self.delay = 0.0  # seconds every token and API answer waits (a hanging GitHub)
        self.server: StubServer | None = None
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}
        self._lock = threading.Lock()

    # Serving ----------------------------------------------------------------------

    def start(self) -> GitHubStandIn:
        self.server = StubServer(self.handle).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    @property
    def url(self) -> str:
        assert self.server, "start() the stand-in first"
        return self.server.url + "/"

    @property
    def api_url(self) -> str:
        return self.url + API.strip("/") + "/"

    def paths(self) -> list[str]:
        """Every path requested so far, in order."""
        return [r.path for r in self.server.requests] if self.server else []

    def handle(self, request: Request) -> Response:
        if request.path == "/login/oauth/authorize" and request.method == "GET":
            return self._authorize(request)
        if request.path == "/login/oauth/access_token" and request.method == "POST":
            return self._slow(self._access_token(request))
        if request.path.startswith(API + "/") and request.method == "GET":
            return self._slow(self._api(request))
        return _not_found()

    def _slow(self, response: Response) -> Response:
        response.delay = self.delay
        return response

    # OAuth ------------------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        if query.get("client_id") != self.client_id:
            return _page(404, "Not Found", "<p>No OAuth application has this client_id.</p>")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return _page(400, "Bad redirect", "<p>redirect_uri is missing or not a URL.</p>")
        if query.get("deny"):
            return _redirect(redirect_uri, error="access_denied", state=query.get("state"))
        login = query.get("login") or self.sign_in_as
        if not login:
            return self._picker(query)
        if login not in self.users:
            return _page(404, "Not Found", f"<p>No user {html.escape(login)}.</p>")
        code = secrets.token_hex(10)
        with self._lock:
            self._codes[code] = {
                "login": login,
                "redirect_uri": redirect_uri,
                "scope": query.get("scope", ""),
                "expires": time.monotonic() + 600,
            }
        return _redirect(redirect_uri, code=code, state=query.get("state"))

    def _picker(self, query: dict[str, str]) -> Response:
        items = []
        for user in self.users.values():
            href = "?" + urlencode({**query, "login": user.login})
            what = f"{user.org_role} of {self.org}" if user.org_role else f"not in {self.org}"
            teams = ", ".join(user.teams)
            items.append(
                f'<li><a href="{html.escape(href)}">{html.escape(user.login)}</a> '
                f"— {html.escape(user.name or '')} <small>({html.escape(what)}"
                f"{'; teams: ' + html.escape(teams) if teams else ''})</small></li>"
            )
        deny = "?" + urlencode({**query, "deny": "1"})
        body = (
            "<p>This is the GitHub Enterprise stand-in. Sign in to Flex as:</p>"
            f"<ul>{''.join(items)}</ul>"
            f'<p><a href="{html.escape(deny)}">Cancel (deny access)</a></p>'
        )
        return _page(200, "Sign in to GitHub Enterprise (stand-in)", body)

    def _access_token(self, request: Request) -> Response:
        params = _token_params(request)
        wants_json = "application/json" in request.headers.get("accept", "")
        if (params.get("client_id"), params.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return _token_answer(wants_json, error="incorrect_client_credentials")
        with self._lock:
            grant = self._codes.pop(params.get("code", ""), None)
        if grant is None or grant["expires"] < time.monotonic():
            return _token_answer(wants_json, error="bad_verification_code")
        if params.get("redirect_uri") and params["redirect_uri"] != grant["redirect_uri"]:
            return _token_answer(wants_json, error="redirect_uri_mismatch")
        token = "gho_" + secrets.token_hex(18)
        with self._lock:
            self._tokens[token] = {"login": grant["login"], "scope": grant["scope"]}
        return _token_answer(
            wants_json, access_token=token, token_type="bearer", scope=grant["scope"]
        )

    # REST API ---------------------------------------------------------------------

    def _api(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if not auth:
            return _error(401, "Requires authentication")
        with self._lock:
            grant = self._tokens.get(token) if scheme.lower() in ("token", "bearer") else None
        if grant is None or grant["login"] not in self.users:
            return _error(401, "Bad credentials")
        user = self.users[grant["login"]]
        scopes = {s.strip() for s in grant["scope"].replace(" ", ",").split(",") if s.strip()}
        path = request.path[len(API) :]
        response = self._route(path, user, scopes, request)
        response.headers.setdefault("X-OAuth-Scopes", ", ".join(sorted(scopes)))
        response.headers.setdefault("X-GitHub-Enterprise-Version", "3.14.0")
        return response

    def _route(self, path: str, user: GitHubUser, scopes: set[str], request: Request) -> Response:
        if path == "/user":
            return Response(200, self.profile(user))
        if path == "/user/emails":
            if not scopes & {"user", "user:email"}:
                return _not_found()
            return Response(200, user.email_list())
        if path.startswith("/user/memberships/orgs/"):
            if not scopes & {"read:org", "write:org", "admin:org"}:
                return _error(403, "You need at least read:org scope to view this membership.")
            return self._membership(user, path.rsplit("/", 1)[-1])
        if path == "/user/teams":
            if not scopes & {"read:org", "write:org", "admin:org"}:
                return _error(403, "You need at least read:org scope to list your teams.")
            return self._teams(user, request)
        return _not_found()

    def profile(self, user: GitHubUser) -> dict:
        return {
            "login": user.login,
            "id": user.id,
            "node_id": f"MDQ6VXNlcj{user.id}",
            "avatar_url": f"{self._base()}avatars/u/{user.id}",
            "url": f"{self._base()}api/v3/users/{user.login}",
            "html_url": f"{self._base()}{user.login}",
            "type": "User",
            "site_admin": False,
            "name": user.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": user.email,
            "hireable": None,
            "bio": None,
            "public_repos": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }

    def _org(self, login: str) -> dict:
        return {
            "login": login,
            "id": zlib.crc32(login.encode()) % 100000,
            "url": f"{self._base()}api/v3/orgs/{login}",
            "description": None,
        }

    def _membership(self, user: GitHubUser, org: str) -> Response:
        if org.lower() != self.org.lower() or user.org_role is None:
            return _not_found()
        return Response(
            200,
            {
                "url": f"{self._base()}api/v3/orgs/{self.org}/memberships/{user.login}",
                "state": user.org_state,
                "role": user.org_role,
                "organization_url": f"{self._base()}api/v3/orgs/{self.org}",
                "organization": self._org(self.org),
                "user": {"login": user.login, "id": user.id, "type": "User"},
            },
        )

    def _teams(self, user: GitHubUser, request: Request) -> Response:
        teams = []
        for number, entry in enumerate(user.teams, start=1):
            org, _, slug = entry.rpartition("/")
            org = org or self.org
            if org == self.org and user.org_role is None:
                continue  # outsiders are in none of the org's teams
            teams.append(
                {
                    "id": user.id * 100 + number,
                    "node_id": f"MDQ6VGVhbT{number}",
                    "name": slug.replace("-", " ").title(),
                    "slug": slug,
                    "description": "",
                    "privacy": "closed",
                    "permission": "pull",
                    "organization": self._org(org),
                }
            )
        per_page = min(int(_first(request.query, "per_page", "30")), 100)
        page = max(int(_first(request.query, "page", "1")), 1)
        chunk = teams[(page - 1) * per_page : page * per_page]
        return Response(200, chunk)

    def _base(self) -> str:
        return self.url if self.server else "http://github.invalid/"


# Helpers --------------------------------------------------------------------------------


def _first(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    return values[-1] if values else default


def _token_params(request: Request) -> dict[str, str]:
    params = {k: v[-1] for k, v in request.query.items()}
    if "json" in request.headers.get("content-type", ""):
        body = request.json()
        if isinstance(body, dict):
            params.update({k: str(v) for k, v in body.items()})
    else:
        params.update({k: v[-1] for k, v in request.form().items()})
    return params


ERRORS = {
    "incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
    "bad_verification_code": "The code passed is incorrect or expired.",
    "redirect_uri_mismatch": "The redirect_uri MUST match the registered callback URL.",
}


def _token_answer(wants_json: bool, **values: str) -> Response:
    if "error" in values:
        values["error_description"] = ERRORS[values["error"]]
        values["error_uri"] = f"{DOCS}/apps/oauth-apps"
    if wants_json:
        return Response(200, values)
    return Response(
        200, urlencode(values), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


def _redirect(uri: str, **params: str | None) -> Response:
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    query.update({k: [v] for k, v in params.items() if v is not None})
    location = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    return Response(302, b"", headers={"Location": location})


def _error(status: int, message: str) -> Response:
    return Response(status, {"message": message, "documentation_url": DOCS})


def _not_found() -> Response:
    return _error(404, "Not Found")


def _page(status: int, title: str, body: str) -> Response:
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto}"
        "li{margin:.4rem 0}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(status, document, headers={"Content-Type": "text/html; charset=utf-8"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org", default="acme")
    parser.add_argument("--client-id", default="flex-demo")
    parser.add_argument("--client-secret", default="flex-demo-secret")
    args = parser.parse_args(argv)
    stand_in = GitHubStandIn(
        demo_users(), org=args.org, client_id=args.client_id, client_secret=args.client_secret
    ).start()
    # The first line tells whoever started us where we listen (flex/demo.py reads it).
    sys.stdout.write(json.dumps({"url": stand_in.url, "api_url": stand_in.api_url}) + "\n")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:  # Ctrl-C reaches us twice: from the terminal and the launcher
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    stand_in.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
