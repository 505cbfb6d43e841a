"""The pages that render hostile data, opened in headless Chromium: no payload runs.

Each page is loaded (and, for forms, submitted with payloads typed in) with a listener on
``dialog``: an ``alert(1)`` from any payload would open one. The DOM is also searched for
the elements a payload would have injected (``<img src=x>``, ``<svg onload>``, a
``<script>`` in the body).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from tests.browser import CHROMIUM, launched
from tests.hostile import world as hostile_world
from tests.hostile.support import XSS_IMG, XSS_SCRIPT, XSS_SVG

TIMEOUT_MS = 10_000
INJECTED = "img[src='x'], svg[onload], body script, [onerror], [onload]"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One headless Chromium for the module. Playwright's sync API runs an event loop in
    this thread, so Django's async-safety check is off while the browser lives."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (make services installs it)")
    with launched() as browser:
        yield browser


@pytest.fixture
def world(live_server, personas, cluster, planted, suffix, settings) -> hostile_world.World:
    settings.KAFKA_TIMEOUT_MS = 500  # the payload-named cluster is unreachable
    return hostile_world.build(cluster=cluster, plant=planted, suffix=suffix)


class Tab:
    """A page signed in as a persona, with everything a payload could do written down."""

    def __init__(self, context, base_url: str) -> None:
        self.page = context.new_page()
        self.base_url = base_url
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, path: str) -> int:
        response = self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("load")
        return response.status

    def assert_nothing_ran(self) -> None:
        self.page.wait_for_timeout(100)  # an onerror handler fires after the image fails
        where = self.page.url
        assert self.dialogs == [], (where, self.dialogs)
        assert self.errors == [], (where, self.errors)
        assert self.page.locator(INJECTED).count() == 0, (where, self.page.content()[:2000])


@pytest.fixture
def tab(chromium, world, live_server) -> Iterator[Tab]:
    """A browser signed in as evil (the session cookie from ``Client.force_login``)."""
    client = Client()
    client.force_login(world.user)
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    yield Tab(context, live_server.url)
    context.close()


def _topic(w, name: str, topic: str | None = None) -> str:
    return reverse(name, kwargs={"cluster": w.cluster.key, "topic": topic or w.topic})


PAGES = {
    "cluster-list": lambda w: reverse("cluster-list"),
    "topic-list": lambda w: reverse("topic-list", kwargs={"cluster": w.cluster.key}),
    "topic-detail": lambda w: _topic(w, "topic-detail"),
    "messages": lambda w: _topic(w, "topic-messages", w.messages_topic) + "?mode=latest&limit=50",
    "audit-log": lambda w: reverse("audit-log"),
    "audit-record": lambda w: reverse("audit-record", kwargs={"record_id": w.record.id}),
    "user-log": lambda w: reverse("user-log"),
    "user-record": lambda w: reverse("user-record", kwargs={"record_id": w.record.id}),
    "simulator": lambda w: reverse("policy-simulate"),
}


def test_the_pages_with_hostile_data_run_no_script(tab, world):
    """One browser walks every page (a world per page would cost seconds each)."""
    for name, path in PAGES.items():
        assert tab.open(path(world)) == 200, name
        assert tab.page.get_by_text(XSS_IMG, exact=False).count() >= 1, f"{name}: not shown"
        tab.assert_nothing_ran()


def test_a_refused_create_form_shows_the_typed_payloads_without_running_them(tab, world):
    tab.open(reverse("topic-create", kwargs={"cluster": world.cluster.key}))
    tab.page.fill("input[name=name]", XSS_IMG)
    tab.page.fill("textarea[name=configs]", f"{XSS_SCRIPT}={XSS_SVG}")
    with tab.page.expect_navigation():
        tab.page.click("main form button[type=submit]")
    assert tab.page.input_value("input[name=name]") == XSS_IMG
    tab.assert_nothing_ran()


def test_a_produced_payload_read_back_runs_no_script(tab, world):
    topic = _topic(world, "topic-produce", world.messages_topic)
    tab.open(topic)
    tab.page.fill("textarea[name=value]", XSS_SVG)
    tab.page.fill("textarea[name=headers]", f"h: {XSS_IMG}")
    with tab.page.expect_navigation():
        tab.page.click("main form button[type=submit]")
    assert tab.open(_topic(world, "topic-messages", world.messages_topic) + "?mode=latest&limit=50")
    assert tab.page.get_by_text(XSS_SVG, exact=False).count() >= 1
    tab.assert_nothing_ran()


def test_the_sign_in_page_with_a_hostile_next_runs_no_script(chromium, live_server, settings):
    settings.FLEX_LOCAL_LOGIN = True
    context = chromium.new_context()
    try:
        anonymous = Tab(context, live_server.url)
        assert anonymous.open(reverse("login") + "?next=" + XSS_IMG.replace(" ", "%20")) == 200
        anonymous.assert_nothing_ran()
    finally:
        context.close()
