"""Every URL that accepts POST, PUT, PATCH or DELETE leaves exactly one audit record.

The walker takes every URL pattern of the project, recursively, as Django resolves them,
fills its parameters with real objects (the session's Tansu cluster, a fresh topic, real
users, policies and admin objects), sends each write method with minimal plausible data
as a signed-in admin, and counts AuditRecords:

- 405: the pattern does not take that method, and nothing may be recorded;
- anything else: exactly one new record.

Nothing is skipped silently:

- a pattern the walker cannot fill, or an admin model it has no object for, fails and
  says what to add here;
- an endpoint that takes a write method but changes nothing (a redirect, starting the
  OAuth dance) is listed in CHANGES_NOTHING with the reason; it is still exercised and
  must not crash;
- Django admin is walked model by model (add, change, delete, bulk action) with forms
  posted as a browser would post them; where the admin refuses (read-only audit rows,
  the access-settings singleton) or offers no bulk action, nothing may be recorded and
  the object must still be there. Admin URLs outside the model views are exercised with
  data (password change, policy import) or listed with the reason they change nothing;
  the admin's own sign-in and sign-out are shadowed by Flex's, which are walked;
- what is known to change state unaudited is listed in NOT_AUDITED_YET as strict
  expected failures: the day it is audited, its entry must go.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from audit.gate import Ctx, record_event
from audit.models import AuditRecord
from datapolicy.models import DataPolicy, DataPolicySettings
from flex import tokens
from rbac import engine
from rbac.models import AccessSettings, Policy
from rbac.roles import profile_for
from tests.topics.groups import commit as commit_group
from topics import kafka as kafka_client
from topics.models import Cluster, primary_cluster

WRITE_METHODS = ("post", "put", "patch", "delete")
PASSWORD = "Walker-pw-12345!"
GHE = "social_core.backends.github_enterprise.GithubEnterpriseOAuth2"

# Endpoints that answer a write method without changing anything, and why. Each is still
# requested with every write method and must not crash.
CHANGES_NOTHING: dict[str, str] = {
    "home": "redirects to the cluster list whatever the method",
    "admin/login/": "redirects to Flex's sign-in page whatever the method",
    "social:begin": "starts the OAuth dance: a redirect to GitHub; only the session's "
    "OAuth state is set (the sign-in itself is recorded at the callback, tests/auth)",
    "admin:index": "renders the admin index",
    "admin:app_list": "renders an app's model list",
    "admin:jsi18n": "serves the admin's JavaScript catalogue",
    "admin:autocomplete": "answers autocomplete lookups (reads only)",
    "admin:view_on_site": "redirects to an object's page",
    "admin:password_change_done": "renders a confirmation page",
    "admin:catch-all": "answers 404 or redirects for admin paths that match nothing",
    "admin:rbac_policy_export": "downloads the policy file (reads only)",
    "admin:datapolicy_datapolicy_export": "downloads the data-policy file (reads only)",
    "admin:<model>_history": "renders an object's admin history",
    "admin:<model>_redirect": "redirects /admin/<app>/<model>/<id>/ to the change page",
}

# What changes state without an audit record today, and why it is listed: strict expected
# failures (an entry that starts passing fails the run until it is removed).
NOT_AUDITED_YET: dict[str, str] = {}

# Endpoints whose one call is several steps, each its own record, and why.
RECORDS_PER_CALL: dict[str, tuple[int, str]] = {
    "approval-approve": (2, "the approval's own record, then the approved operation's"),
    "api-approval-approve": (2, "the approval's own record, then the approved operation's"),
}


@dataclass(frozen=True)
class Route:
    """One URL pattern as Django resolves it."""

    id: str  # its name (namespaced), or its route when unnamed
    route: str
    pattern: URLPattern
    namespace: str | None

    @property
    def params(self) -> list[str]:
        return list(self.pattern.pattern.regex.groupindex)


def _walk(
    patterns: list, prefix: str = "", namespace: str | None = None
) -> Iterator[tuple[str, URLPattern, str | None]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(n for n in (namespace, entry.namespace) if n) or None
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            yield prefix + str(entry.pattern), entry, namespace


def all_routes() -> list[Route]:
    routes = []
    for route, pattern, namespace in _walk(get_resolver().url_patterns):
        name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
        routes.append(Route(name or route, route, pattern, namespace))
    return routes


def admin_name(info: tuple[str, str], kind: str) -> str:
    return f"admin:{info[0]}_{info[1]}_{kind}"


def admin_kind(route: Route) -> tuple[str, str | None]:
    """(kind, model label) of an admin route: a model view, a site view, or custom."""
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        label = f"{info[0]}.{info[1]}"
        for kind in ("changelist", "add", "change", "delete", "history"):
            if route.id == admin_name(info, kind):
                return kind, label
        if route.route == f"admin/{info[0]}/{info[1]}/<path:object_id>/":
            return "redirect", label
    if route.route.endswith("(?P<url>.*)$"):
        return "catch-all", None
    return "site", None


# The world each case runs in -------------------------------------------------------------


@dataclass
class World:
    client: Client
    alice: object
    topic: str
    fill: dict[str, object]

    @property
    def group(self) -> str:
        return str(self.fill["group"])


def _uid() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def fast_passwords(settings) -> None:
    """Cheap password hashes (PBKDF2 costs about a second per case here)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(fast_passwords, kafka, personas, settings, client) -> World:
    """Alice (admin, superuser) signed in; a policy letting admins do every topic action;
    a fresh topic; GitHub Enterprise configured so social-auth's URLs resolve."""
    settings.AUTHENTICATION_BACKENDS = ["flex.auth.LocalBackend", GHE]
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_URL = "http://127.0.0.1:9/"
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL = "http://127.0.0.1:9/api/v3/"
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY = "walker"
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_SECRET = "walker-secret"
    settings.FLEX_LOCAL_LOGIN = True
    alice = personas["alice"]
    alice.is_staff = alice.is_superuser = True
    alice.set_password(PASSWORD)
    alice.save()
    Policy.objects.create(
        resource=["cluster", "*"],
        effect="Allow",
        actions=list(kafka_client_actions()),
        roles=["admins"],
    )
    engine.invalidate()
    cluster = primary_cluster()
    kafka_client.describe_cluster(cluster)
    topic = f"walk-{_uid()}"
    kafka_client.create_topic(
        Cluster.objects.get(pk=cluster.pk),
        name=topic,
        partitions=1,
        replication_factor=1,
        configs={},
    )
    record = record_event(
        actor=None, type="auth/login", event="auth/login", request={}, ctx=Ctx(), user={}
    )
    group = f"walk-{_uid()}"  # an empty consumer group with an offset on the topic
    commit_group(Cluster.objects.get(pk=cluster.pk), group, {(topic, 0): 0})
    fill: dict[str, object] = {
        "cluster": "flex-test",
        "topic": topic,
        "group": group,
        "backend": "github-enterprise",
        "record_id": record.id,
        "partition": 0,  # a message of the topic: its page and download only read
        "offset": 0,
        "approval_id": _staged_request(personas["bob"]),
        "pk": _temporary_policy(alice),
        "seq": 1,  # a checkpoint number
        "token_id": tokens.issue(alice, "walker")[0].pk,
    }
    try:
        from social_django.models import UserSocialAuth

        social = UserSocialAuth.objects.create(
            user=alice, provider="github-enterprise", uid=f"walker-{_uid()}"
        )
        fill["association_id"] = social.pk
    except ImportError:
        pass
    client.force_login(alice)
    yield World(client=client, alice=alice, topic=topic, fill=fill)
    engine.invalidate()


def _staged_request(requester) -> object:
    """A pending request for approval: bob's create, held by a Stage policy for his team."""
    from audit.gate import Ctx
    from topics import operations, validation

    Policy.objects.create(
        resource=["cluster", "*"], effect="Stage", actions=["TOPIC_CREATE"], roles=["platform"]
    )
    engine.invalidate()
    data = {"name": f"walk-staged-{_uid()}"}
    operation = operations.topic_create(
        operations.target("flex-test"), validation.check_create(data), data
    )
    outcome = operations.run(requester, operation, Ctx(cluster_id="flex-test"))
    assert outcome.status == "staged", outcome.error
    return outcome.result["approval"]


def _temporary_policy(granter) -> int:
    """An active temporary policy (alice's role is allowed what it grants)."""
    from datetime import UTC, datetime, timedelta

    from rbac.models import TemporaryPolicy

    return TemporaryPolicy.objects.create(
        role="platform",
        actions=["TOPIC_PRODUCE"],
        resource=["cluster", "*"],
        reason="walker",
        granted_by=granter.username,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    ).pk


def kafka_client_actions() -> tuple[str, ...]:
    from rbac.actions import FLEX_ACTIONS

    return FLEX_ACTIONS


# Minimal plausible data per route and method (JSON for /api/, form-encoded otherwise).
def request_data(route_id: str, method: str, world: World) -> dict:
    topic = world.topic
    table: dict[tuple[str, str], dict] = {
        ("login", "post"): {"username": "alice", "password": PASSWORD},
        ("topic-create", "post"): {
            "name": f"walk-{_uid()}",
            "partitions": "1",
            "replication_factor": "1",
        },
        ("topic-configs", "post"): {"set": "retention.ms=60000"},
        ("topic-produce", "post"): {"key": "k", "value": "hello"},
        ("topic-delete", "post"): {"confirm": topic},
        ("topic-truncate", "post"): {"confirm": topic},
        ("api-topic-list", "post"): {"name": f"walk-{_uid()}"},
        ("api-topic-configs", "patch"): {"set": {"retention.ms": "60000"}},
        ("api-topic-messages", "post"): {"value": "hello"},
        ("group-reset", "post"): {"topic": topic, "to": "earliest", "dry_run": "0"},
        ("group-delete", "post"): {"confirm": world.group},
        ("api-group-offsets", "post"): {"topic": topic, "to": "latest", "dry_run": False},
        ("policy-simulate", "post"): {
            "roles": "platform",
            "action": "TOPIC_CREATE",
            "cluster": "flex-test",
            "topic": topic,
        },
        ("rbac-decide", "post"): {
            "roles": ["platform"],
            "action": "TOPIC_CREATE",
            "resource": ["cluster", "flex-test", "topic", topic],
        },
        ("data-policy-sandbox", "post"): {"topic": topic, "roles": "member", "value": "{}"},
        ("data-policy-preview", "post"): {"topic": topic, "roles": ["member"], "value": "{}"},
        ("admin:password_change", "post"): {
            "old_password": PASSWORD,
            "new_password1": PASSWORD + "x",
            "new_password2": PASSWORD + "x",
        },
    }
    return table.get((route_id, method), {})


ANONYMOUS = {"login"}  # signing in is done signed out


def _url_for(route: Route, fill: dict[str, object]) -> str:
    missing = [p for p in route.params if p not in fill]
    if missing:
        pytest.fail(
            f"{route.id}: the walker does not know how to fill {missing}; "
            "add a real object for it to World.fill"
        )
    kwargs = {p: fill[p] for p in route.params}
    if route.pattern.name:
        name = route.id
        return reverse(name, kwargs=kwargs)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), route.route)
    return "/" + path


def _send(client: Client, method: str, url: str, data: dict, files: dict | None = None):
    if url.startswith("/api/"):
        return client.generic(
            method.upper(), url, json.dumps(data), content_type="application/json"
        )
    if method == "post":
        return client.post(url, {**data, **(files or {})})
    body = urlencode(data, doseq=True)
    return client.generic(
        method.upper(), url, body, content_type="application/x-www-form-urlencoded"
    )


def _check(route_id: str, method: str, response, before: int, reason_key: str) -> None:
    added = AuditRecord.objects.count() - before
    where = f"{method.upper()} {route_id}"
    assert response.status_code < 500, f"{where} crashed with {response.status_code}"
    if reason_key in CHANGES_NOTHING:
        return
    if response.status_code == 405:
        assert added == 0, f"{where} answered 405 but left {added} audit record(s)"
        return
    expected = RECORDS_PER_CALL.get(reason_key, (1, ""))[0]
    assert added == expected, (
        f"{where} answered {response.status_code} and left {added} audit records, not {expected}: "
        "audit it, restrict its methods (require_GET…), or list it in CHANGES_NOTHING "
        "with the reason"
    )


def _xfail_if_known(case: str, marks: list) -> list:
    reason = NOT_AUDITED_YET.get(case)
    if reason:
        marks.append(pytest.mark.xfail(reason=reason, strict=True))
    return marks


# Outside Django admin ---------------------------------------------------------------------


def site_cases() -> list:
    cases = []
    for route in all_routes():
        if route.namespace == "admin":
            continue
        for method in WRITE_METHODS:
            case = f"{method.upper()} {route.id}"
            cases.append(pytest.param(route, method, id=case, marks=_xfail_if_known(case, [])))
    return cases


@pytest.mark.parametrize(("route", "method"), site_cases())
def test_every_write_outside_admin_leaves_one_record(route: Route, method: str, world: World):
    url = _url_for(route, world.fill)
    assert resolve(url).func is route.pattern.callback, f"{url} is answered by another pattern"
    client = Client() if route.id in ANONYMOUS else world.client
    before = AuditRecord.objects.count()
    response = _send(client, method, url, request_data(route.id, method, world))
    _check(route.id, method, response, before, route.id)


OVERSIZED = 1024  # the upload limit in the test below


def oversized_cases() -> list:
    """Every write outside admin, and one admin form (the mechanism is the same for all)."""
    policy_add = next(r for r in all_routes() if r.id == "admin:rbac_policy_add")
    return [*site_cases(), pytest.param(policy_add, "post", id="POST admin:rbac_policy_add")]


@pytest.mark.parametrize(("route", "method"), oversized_cases())
def test_every_write_over_the_size_limit_is_refused_with_413_and_recorded(
    route: Route, method: str, world: World, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = OVERSIZED
    url = _url_for(route, world.fill)
    client = Client() if route.id in ANONYMOUS else world.client
    before = AuditRecord.objects.count()
    response = _send(client, method, url, {"padding": "x" * (4 * OVERSIZED)})
    where = f"{method.upper()} {route.id}"
    if response.status_code == 405:  # a view that refuses its own oversized bodies
        assert AuditRecord.objects.count() == before, f"{where} answered 405 with a record"
        return
    assert response.status_code == 413, f"{where} answered {response.status_code}"
    assert AuditRecord.objects.count() == before + 1, f"{where} left no single record"
    record = AuditRecord.objects.order_by("-ts", "-id").first()
    assert record.outcome == AuditRecord.FAILED
    assert "bytes" in record.document["data"]["response"]["error"]


# Django admin -----------------------------------------------------------------------------


class _FormReader(HTMLParser):
    """The fields of one HTML form, as a browser would submit them (first submit button)."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.data: list[tuple[str, str]] = []
        self.select: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form" and (self.form_id is None or a.get("id") == self.form_id):
            self.inside = True
        if not self.inside or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            self.data.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self.select = name
        elif tag == "option" and self.select and "selected" in a:
            self.data.append((self.select, a.get("value", "")))
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.data.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None


def browser_form(html: str, form_id: str | None) -> dict[str, list[str]]:
    reader = _FormReader(form_id)
    reader.feed(html)
    out: dict[str, list[str]] = {}
    for name, value in reader.data:
        out.setdefault(name, []).append(value)
    return out


def _new_user():
    return get_user_model().objects.create_user(f"walker-{_uid()}", password=PASSWORD)


def _objects() -> dict[str, Callable[[], object]]:
    """A fresh, disposable object for each admin model the walker knows."""
    factories: dict[str, Callable[[], object]] = {
        "auth.group": lambda: Group.objects.create(name=f"walker-{_uid()}"),
        "auth.user": _new_user,
        "rbac.policy": lambda: Policy.objects.create(
            resource=["cluster", "*"],
            effect="Allow",
            actions=["TOPIC_INSPECT"],
            roles=[f"walker-{_uid()}"],
        ),
        "rbac.accesssettings": AccessSettings.load,
        "rbac.profile": lambda: profile_for(_new_user()),
        "topics.cluster": lambda: Cluster.objects.create(
            name=f"walker-{_uid()}", bootstrap_servers="127.0.0.1:1"
        ),
        "audit.auditrecord": lambda: AuditRecord.objects.first(),
        "datapolicy.datapolicy": lambda: DataPolicy.objects.create(
            name=f"walker-{_uid()}",
            resources=[["cluster", "*", "topic", "*", "value"]],
            redaction="Full",
            policy_type="non-scalar",
            fields=["pan"],
        ),
        "datapolicy.datapolicysettings": DataPolicySettings.load,
    }
    try:
        from social_django.models import Association, Nonce, UserSocialAuth

        factories.update(
            {
                "social_django.usersocialauth": lambda: UserSocialAuth.objects.create(
                    user=_new_user(), provider="github", uid=f"walker-{_uid()}"
                ),
                "social_django.nonce": lambda: Nonce.objects.create(
                    server_url="https://example.com", timestamp=1, salt=_uid()
                ),
                "social_django.association": lambda: Association.objects.create(
                    server_url="https://example.com",
                    handle=_uid(),
                    secret="c2VjcmV0",
                    issued=1,
                    lifetime=60,
                    assoc_type="HMAC-SHA1",
                ),
            }
        )
    except ImportError:
        pass
    return factories


def _object_for(label: str, model, model_admin, request) -> object | None:
    factories = _objects()
    if label in factories:
        return factories[label]()
    if not any(_permissions(model_admin, request).values()):
        return model.objects.first()  # read-only: any row (or none) shows the refusal
    pytest.fail(f"admin:{label}: the walker has no object for this model; add a factory")


def _permissions(model_admin, request) -> dict[str, bool]:
    """Which admin writes the model admin lets a superuser make."""
    return {
        "add": model_admin.has_add_permission(request),
        "change": model_admin.has_change_permission(request),
        "delete": model_admin.has_delete_permission(request),
        "action": "delete_selected" in model_admin.get_actions(request),
    }


def _pk(obj) -> object:
    """The primary key column's value (DRF's TokenProxy answers ``pk`` with the user's)."""
    return obj._meta.pk.value_from_object(obj)


def _admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# How an admin's URLs name an object when it is not by primary key.
OBJECT_IDS: dict[str, Callable[[object], object]] = {}

# Admin add forms the change form cannot stand in for.
ADD_DATA: dict[str, Callable[[], dict]] = {
    "auth.user": lambda: {
        # Not "walker-…": Django refuses a password too similar to the username, and
        # "walker-<random>" against PASSWORD sometimes is.
        "username": f"u{_uid()}",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "usable_password": "true",
    },
}


def admin_cases() -> list:
    cases = []
    for model in admin.site._registry:
        label = model._meta.label_lower
        for kind in ("add", "change", "delete", "action"):
            case = f"admin:{label} {kind}"
            cases.append(pytest.param(label, kind, id=case, marks=_xfail_if_known(case, [])))
    return cases


@pytest.mark.parametrize(("label", "kind"), admin_cases())
def test_every_admin_change_leaves_one_record(label: str, kind: str, world: World):
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    model_admin = admin.site._registry[model]
    info = (model._meta.app_label, model._meta.model_name)
    request = _admin_request(world.alice)
    obj = _object_for(label, model, model_admin, request)
    allowed = _permissions(model_admin, request)[kind]
    object_id = str(OBJECT_IDS.get(label, lambda o: o.pk)(obj)) if obj is not None else "0"
    url, data = _admin_write(kind, info, label, obj, object_id, world.client, allowed)
    before = AuditRecord.objects.count()
    response = world.client.post(url, data)
    added = AuditRecord.objects.count() - before
    where = f"admin:{label} {kind}"
    assert response.status_code < 500, f"{where} crashed with {response.status_code}"
    if not allowed:  # the admin refuses (or offers no bulk action): nothing may change
        assert added == 0, f"{where} is refused but left {added} record(s)"
        if obj is not None and kind != "add":
            assert model._default_manager.filter(pk=_pk(obj)).exists(), f"{where} changed it"
        return
    _assert_admin_success(where, response)
    assert added == 1, f"{where} left {added} audit records, not 1"


def _admin_write(kind, info, label, obj, object_id, client, allowed) -> tuple[str, dict]:
    """The URL and the data a browser would post for one kind of admin write."""
    if kind == "add":
        return reverse(admin_name(info, "add")), _add_data(
            label, info, obj, object_id, client, allowed
        )
    if kind == "change":
        url = reverse(admin_name(info, "change"), args=[object_id])
        data = browser_form(client.get(url).content.decode(), f"{info[1]}_form") if obj else {}
        return url, {**data, "_save": ["Save"]}
    if kind == "delete":
        return reverse(admin_name(info, "delete"), args=[object_id]), {"post": ["yes"]}
    data = {"action": ["delete_selected"], "_selected_action": [object_id], "post": ["yes"]}
    return reverse(admin_name(info, "changelist")), data


def _add_data(label, info, obj, object_id, client: Client, allowed: bool) -> dict:
    """What a browser would post to the add page: the form of an existing object, which is
    then deleted so its unique values are free again."""
    if label in ADD_DATA:
        return ADD_DATA[label]()
    if obj is None:
        return {}
    page = client.get(reverse(admin_name(info, "change"), args=[object_id]))
    data = browser_form(page.content.decode(), f"{info[1]}_form")
    if allowed:
        type(obj)._default_manager.filter(pk=_pk(obj)).delete()
    return {**data, "_save": ["Save"]}


def _assert_admin_success(where: str, response) -> None:
    """The admin redirects after a change it made; a 200 re-renders the form with errors."""
    if response.status_code == 200 and response.context is not None:
        form = getattr(response.context.get("adminform"), "form", None)
        errors = [str(form.errors) if form is not None else "", str(response.context.get("errors"))]
        pytest.fail(f"{where} did not go through (the walker's data was refused): {errors}")
    assert response.status_code == 302, f"{where} answered {response.status_code}"


# Admin URLs outside the model views -------------------------------------------------------


ADMIN_SITE_WRITES: dict[str, Callable[[World], tuple[dict, dict]]] = {
    # route id -> (data, files) to post; each must leave exactly one record.
    "admin:password_change": lambda w: (request_data("admin:password_change", "post", w), {}),
    "admin:auth_user_password_change": lambda w: (
        {"password1": PASSWORD + "y", "password2": PASSWORD + "y", "usable_password": "true"},
        {},
    ),
    "admin:rbac_policy_import": lambda w: ({}, {"file": _policy_file()}),
    "admin:datapolicy_datapolicy_import": lambda w: ({}, {"file": _data_policy_file()}),
}


def _policy_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = (
        "policies:\n"
        "  - resource: [cluster, '*']\n"
        "    effect: Allow\n"
        "    actions: [TOPIC_INSPECT]\n"
        "    role: walker\n"
    )
    return SimpleUploadedFile("policies.yaml", text.encode(), content_type="application/yaml")


def _data_policy_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = (
        "policies:\n"
        "  - name: walker\n"
        "    resources: [[cluster, '*', topic, '*', value]]\n"
        "    redaction: Full\n"
        "    type: scalar\n"
    )
    return SimpleUploadedFile("data.yaml", text.encode(), content_type="application/yaml")


def admin_site_cases() -> list:
    cases = []
    for route in all_routes():
        if route.namespace != "admin":
            continue
        kind, _label = admin_kind(route)
        if kind in ("changelist", "add", "change", "delete"):
            continue  # walked model by model above
        case = f"POST {route.id}"
        cases.append(pytest.param(route, kind, id=case, marks=_xfail_if_known(case, [])))
    return cases


@pytest.mark.parametrize(("route", "kind"), admin_site_cases())
def test_every_other_admin_url_is_audited_or_changes_nothing(route: Route, kind: str, world: World):
    fill = {**world.fill, "url": "nothing-here/"}
    user = _new_user()
    fill.update(object_id=user.pk, content_type_id=1, app_label="auth", id=user.pk)
    url = _url_for(route, fill)
    matched = resolve(url)
    if matched.func is not route.pattern.callback:
        # Shadowed: an earlier pattern, walked on its own, answers this URL.
        assert any(r.pattern.callback is matched.func for r in all_routes()), url
        return
    reason_key = {
        "history": "admin:<model>_history",
        "redirect": "admin:<model>_redirect",
        "catch-all": "admin:catch-all",
    }.get(kind, route.id)
    if reason_key in CHANGES_NOTHING:
        response = world.client.post(url, {})
        assert response.status_code < 500, f"POST {route.id} crashed"
        return
    if route.id not in ADMIN_SITE_WRITES:
        pytest.fail(
            f"POST {route.id}: an admin URL the walker does not know; give it data in "
            "ADMIN_SITE_WRITES or a reason in CHANGES_NOTHING"
        )
    data, files = ADMIN_SITE_WRITES[route.id](world)
    before = AuditRecord.objects.count()
    response = world.client.post(url, {**data, **files})
    _check(route.id, "post", response, before, route.id)


def test_every_listed_exception_names_a_real_route():
    ids = {r.id for r in all_routes()}
    generic = {k for k in CHANGES_NOTHING if "<model>" in k or k == "admin:catch-all"}
    stale = sorted(set(CHANGES_NOTHING) - ids - generic)
    assert stale == [], f"CHANGES_NOTHING names routes that no longer exist: {stale}"


def test_the_walker_sees_the_topic_writes():
    """A guard against a walker that walks nothing: the topic write routes are in it."""
    ids = {case.id for case in site_cases()}
    routes = ("topic-create", "topic-delete", "api-topic-list", "api-topic-messages")
    for route in (*routes, "group-reset", "group-delete", "api-group-offsets"):
        assert f"POST {route}" in ids
    assert any(case.id.startswith("admin:rbac.policy") for case in admin_cases())
    assert "DELETE api-group-detail" in ids
