"""Browser end-to-end: Playwright driving Debian's Chromium against Flex on a live server.

Flex runs in pytest-django's ``live_server`` (a thread of this process, on the test
PostgreSQL database), signs people in through the GitHub Enterprise stand-in on
127.0.0.1, and talks to the session's Tansu broker. Every page the browser opens is
watched: a JavaScript dialog, an uncaught script error, a console error or an HTTP
answer of 400 or more that the test did not announce fails the test.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from rbac import engine
from standins.github import GitHubStandIn
from tests.auth.conftest import wire_stand_in
from tests.browser import CHROMIUM, launched

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SAMPLE_POLICIES = ROOT / "rbac" / "samples" / "policies.yaml"
TIMEOUT_MS = 10_000
BOB_ROLES = ["member", "platform"]  # bob's org role and team on the stand-in


def _chromium() -> str:
    """Debian's Chromium, installed by scripts/browser.sh when missing; skip when it cannot be."""
    if not os.access(CHROMIUM, os.X_OK) and shutil.which("apt-get"):
        subprocess.run(
            [str(ROOT / "scripts" / "browser.sh")],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=600,
            check=False,
        )
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing and scripts/browser.sh could not install it")
    return CHROMIUM


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One headless Chromium per test module.

    Playwright's sync API keeps an event loop running in the test thread while it is
    started, so Django's async-safety check would refuse the test's own database calls:
    allowed here, and only for as long as the browser lives.
    """
    with launched(_chromium()) as browser:
        yield browser


@pytest.fixture
def github(settings, http_stub) -> GitHubStandIn:
    """The stand-in (alice org admin in team admins, bob in team platform, mallory outsider)
    as Flex's only sign-in provider: org ``acme``, roles from teams, no local sign-in."""
    return wire_stand_in(settings, http_stub)


@pytest.fixture
def flex(live_server, kafka, github) -> Iterator[str]:
    """Flex on a live server with the sample policies: members may create, produce and
    inspect but never delete; admins may do everything. Returns the base URL."""
    out = io.StringIO()
    call_command("rbac_import", str(SAMPLE_POLICIES), "--replace", stdout=out)
    engine.invalidate()
    # What the journey relies on, stated up front: a changed sample file fails here, not later.
    topic = ["cluster", "flex-test", "topic", "e2e-anything"]
    for action, allowed in [
        ("TOPIC_CREATE", True),
        ("TOPIC_PRODUCE", True),
        ("TOPIC_DELETE", False),
    ]:
        assert engine.decide(BOB_ROLES, action, topic).success is allowed, (action, out.getvalue())
    yield live_server.url
    engine.invalidate()


class Watch:
    """What a page must not do: open a dialog, throw, log an error, answer 400 or more.

    Only the answers of Flex itself are checked (the stand-in is not ours); a step that
    provokes an error answer on purpose announces it with ``expect(status)``.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.problems: list[str] = []
        self.expected: list[int] = []

    def attach(self, page) -> None:
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _dialog(self, dialog) -> None:
        self.problems.append(f"a {dialog.type} dialog opened: {dialog.message!r}")
        dialog.dismiss()

    def _console(self, message) -> None:
        if message.type != "error" or _favicon(message.location.get("url", "")):
            return
        text = message.text
        status = re.search(r"status of (\d{3})", text)
        if status and int(status.group(1)) in self.expected:
            return
        self.problems.append(f"console error on {message.location.get('url')}: {text}")

    def _response(self, response) -> None:
        if not response.url.startswith(self.base_url) or response.status < 400:
            return
        if _favicon(response.url) and response.status == 404:
            return
        if response.status in self.expected and response.status < 500:
            return
        self.problems.append(f"{response.status} from {response.request.method} {response.url}")

    @contextmanager
    def expect(self, status: int) -> Iterator[None]:
        self.expected.append(status)
        try:
            yield
        finally:
            self.expected.remove(status)


def _favicon(url: str) -> bool:
    """The browser asks every site for /favicon.ico on its own; neither Flex nor the
    stand-in has one, and that 404 is no page's doing."""
    return urlsplit(url).path == "/favicon.ico"


class Browser:
    """A page on Flex, with its watch and numbered screenshots under ``artifacts/<test>/``.

    Every screenshot also collects the page's links to Flex, for ``check_links``.
    """

    def __init__(self, page, watch: Watch, folder: Path) -> None:
        self.page = page
        self.watch = watch
        self.folder = folder
        self.shots = 0
        self.links: dict[str, str] = {}  # link -> the page it was found on
        self.checked: set[str] = set()

    def shot(self, name: str) -> Path:
        self.shots += 1
        path = self.folder / f"{self.shots:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        for href in self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            url = href.split("#")[0]
            if url.startswith(self.watch.base_url):
                self.links.setdefault(url, self.page.url)
        return path

    def check_links(self) -> None:
        """GET every link collected so far (as the signed-in user): none may answer 400+."""
        broken = []
        for url, found_on in self.links.items():
            if url in self.checked:
                continue
            self.checked.add(url)
            status = self.page.request.get(url).status
            if status >= 400:
                broken.append(f"{status} from {url} (linked from {found_on})")
        assert not broken, "broken links:\n" + "\n".join(broken)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item, so the browser fixture knows a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser(chromium, flex, request) -> Iterator[Browser]:
    """A fresh browser context on Flex; a screenshot when the test fails, and the test
    fails on anything the watch saw."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    context = chromium.new_context(base_url=flex, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch(flex)
    watch.attach(page)
    tab = Browser(page, watch, folder)
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        tab.shot("failure")
    context.close()
    assert not watch.problems, "the browser saw:\n" + "\n".join(watch.problems)
