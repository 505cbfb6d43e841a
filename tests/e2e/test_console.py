"""The console people use all day, in the real browser under a Content-Security-Policy that
forbids inline script: the message browser, the topic list, Produce, the API explorer, the
Audit log's filters, a 390 px phone and the dark theme, the keyboard shortcuts.

Every Flex page is served here with ``script-src 'self'``: an inline script or handler
would be refused and reported as a console error, which the watch turns into a failure.
Screenshots land in ``tests/e2e/artifacts/<test>/``.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from audit.models import AuditRecord
from tests.e2e.conftest import Browser
from tests.e2e.test_journey import sign_in, signed_in_as
from topics import kafka as kafka_client
from topics.models import primary_cluster

pytestmark = pytest.mark.e2e

CSP = "default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'"


def enforce_csp(tab: Browser) -> None:
    """Serve every Flex answer with a CSP that forbids inline script (as production will)."""

    def handle(route) -> None:
        try:
            if route.request.resource_type != "document":  # a CSP binds through its page
                route.continue_()
                return
            response = route.fetch(max_redirects=0)  # the browser follows redirects itself
            headers = {**response.headers, "content-security-policy": CSP}
            route.fulfill(response=response, headers=headers)
        except PlaywrightError:  # the test ended with a request in flight
            pass

    tab.page.context.route(re.compile(re.escape(tab.watch.base_url) + ".*"), handle)


def signed_in(tab: Browser, login: str, name: str) -> None:
    enforce_csp(tab)
    sign_in(tab, login)
    signed_in_as(tab, name)


def press(tab: Browser, key: str) -> None:
    """A shortcut, once the page's script listens (a deferred script runs after the HTML)."""
    expect(tab.page.locator("html[data-keys=ready]")).to_have_count(1)
    tab.page.keyboard.press(key)


def topic_named(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def produce(topic: str, values: list[str], *, partition: int = 0, key: str | None = None) -> None:
    cluster = primary_cluster()
    for value in values:
        kafka_client.produce(
            cluster,
            topic,
            key=key.encode() if key else None,
            value=value.encode(),
            headers=[],
            partition=partition,
        )


def make_topic(name: str, partitions: int = 1) -> str:
    kafka_client.create_topic(
        primary_cluster(), name=name, partitions=partitions, replication_factor=1, configs={}
    )
    return name


def messages_url(topic: str) -> str:
    return f"/clusters/flex-test/topics/{topic}/messages/"


def shown_values(tab: Browser) -> list[str]:
    cells = tab.page.locator("table.messages-table tbody tr td:nth-child(5) pre.payload")
    return cells.all_inner_texts()


# 1. The message browser ------------------------------------------------------------------


def test_the_message_browser_pages_filters_views_and_downloads(browser: Browser):
    topic = make_topic(topic_named("e2e-browse"))
    produce(topic, [json.dumps({"customer": {"id": str(i)}, "n": i}) for i in range(12)])
    signed_in(browser, "alice", "Alice Admin")
    page = browser.page

    page.goto(messages_url(topic))
    expect(page.locator('[data-modes="offset"]')).to_be_hidden()  # mode-specific fields
    page.get_by_label("Start").select_option("offset")
    expect(page.locator('[data-modes="offset"]')).to_be_visible()
    expect(page.locator('[data-modes="timestamp"]')).to_be_hidden()
    page.get_by_label("Start").select_option("latest")
    page.get_by_label("Messages").fill("5")
    browser.shot("browser-form")
    page.get_by_role("button", name="Read").click()
    expect(page.locator(".read-summary")).to_contain_text("Newest first")
    assert [json.loads(v)["n"] for v in shown_values(browser)] == [11, 10, 9, 8, 7]
    browser.shot("browser-latest")

    press(browser, "j")  # the next page: older
    expect(page.locator(".read-summary")).to_contain_text("5 shown of 5 scanned")
    assert [json.loads(v)["n"] for v in shown_values(browser)] == [6, 5, 4, 3, 2]
    browser.shot("browser-older")
    page.get_by_role("link", name=re.compile("Newer")).click()
    assert [json.loads(v)["n"] for v in shown_values(browser)] == [11, 10, 9, 8, 7]

    page.get_by_label("Field filter").fill("value.customer.id == '3'")
    page.get_by_role("button", name="Read").click()
    assert [json.loads(v)["n"] for v in shown_values(browser)] == [3]
    expect(page.locator(".read-summary")).to_contain_text("1 shown of 12 scanned")
    browser.shot("browser-filtered")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download this page (JSON Lines)").click()
    lines = Path(info.value.path()).read_text().splitlines()
    assert [json.loads(json.loads(line)["value"]["text"])["n"] for line in lines] == [3]

    page.get_by_role("link", name="View", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Message 0/3 of {topic}")
    browser.shot("browser-full-value")
    events = list(AuditRecord.objects.filter(resource_name=topic).values_list("event", flat=True))
    assert events.count("query/download-topic-data") == 1
    assert events.count("query/inspect-topic-data") == 5  # four pages and the full view


def test_a_bad_field_filter_is_explained_on_the_page(browser: Browser):
    topic = make_topic(topic_named("e2e-expr"))
    produce(topic, ['{"id": "42"}'])
    signed_in(browser, "bob", "Bob Builder")
    page = browser.page
    page.goto(messages_url(topic))
    page.get_by_label("Field filter").fill("value.id == ")
    with browser.watch.expect(400):
        page.get_by_role("button", name="Read").click()
        expect(page.get_by_role("alert")).to_contain_text("expr:")
    browser.shot("browser-bad-expression")
    expect(page.get_by_text("Download not allowed")).to_have_count(0)  # no page was read


# 2. The topic list -----------------------------------------------------------------------


def test_the_topic_list_sorts_and_pages_on_the_server(browser: Browser):
    prefix = topic_named("e2e-list")
    for suffix, partitions in (("a", 1), ("b", 3), ("c", 2)):
        make_topic(f"{prefix}-{suffix}", partitions)
    produce(f"{prefix}-a", ["1", "2"])
    signed_in(browser, "bob", "Bob Builder")
    page = browser.page
    page.goto(f"/clusters/flex-test/topics/?q={prefix}&per_page=25")
    page.get_by_role("link", name="Partitions").click()
    page.get_by_role("link", name=re.compile("Partitions")).click()  # again: descending
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Partitions")
    names = page.locator("table.topics-table td.name a").all_inner_texts()
    assert names == [f"{prefix}-b", f"{prefix}-c", f"{prefix}-a"]
    expect(page.get_by_text("does not report sizes")).to_be_visible()
    browser.shot("topic-list-sorted")

    page.goto(f"/clusters/flex-test/topics/?q={prefix}&per_page=25&sort=-partitions")
    page.get_by_label("per page").select_option("25")
    page.goto(f"/clusters/flex-test/topics/?q={prefix}&sort=name&per_page=25&page=1")
    expect(page.locator("p.pages")).to_contain_text("Page 1 of 1 · 3 topics")

    page.get_by_role("link", name=f"{prefix}-a").click()
    configs = page.locator("table.configs-table")
    retention = configs.locator(
        "tr", has=page.locator("code", has_text=re.compile(r"^retention\.ms$"))
    )
    expect(retention).to_contain_text("Kafka default")
    browser.shot("topic-configs")


# 3. Produce ------------------------------------------------------------------------------


def test_produce_keeps_its_values_fills_from_a_template_and_clears(browser: Browser):
    topic = make_topic(topic_named("e2e-produce"), partitions=2)
    signed_in(browser, "bob", "Bob Builder")
    page = browser.page
    page.goto(f"/clusters/flex-test/topics/{topic}/produce/")
    page.get_by_text("Fill from a JSON template").click()
    page.get_by_label("Template").fill('{"key": "k-1", "value": {"id": 42}, "partition": 1}')
    page.get_by_role("button", name="Fill the form").click()
    expect(page.get_by_label("Key")).to_have_value("k-1")
    expect(page.get_by_label("Partition")).to_have_value("1")
    browser.shot("produce-from-template")

    page.get_by_role("button", name="Produce").click()
    expect(page.locator(".written")).to_contain_text("partition 1, offset 0")
    expect(page.get_by_label("Key")).to_have_value("k-1")  # kept for the next send
    page.get_by_role("button", name="Produce").click()
    expect(page.locator(".written")).to_contain_text("partition 1, offset 1")
    browser.shot("produced-twice")

    page.get_by_role("link", name="Clear").click()
    expect(page.get_by_label("Key")).to_have_value("")


# 4. The API explorer ---------------------------------------------------------------------


def test_the_api_explorer_works_offline_under_the_csp(browser: Browser):
    enforce_csp(browser)
    page = browser.page
    foreign: list[str] = []
    page.on(
        "request",
        lambda r: (
            foreign.append(r.url)
            if not r.url.startswith(browser.watch.base_url) and not r.url.startswith("data:")
            else None
        ),
    )
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Flex API")
    expect(page.locator(".opblock-summary-path", has_text="/api/audit/").first).to_be_visible()
    page.locator(".opblock-summary", has_text="audit_list").first.click()
    expect(page.locator(".parameters").first).to_contain_text("mine")
    browser.shot("api-docs")
    assert foreign == [], foreign


# 5. The Audit log's filters --------------------------------------------------------------


def test_the_audit_log_filters_by_drop_down_and_quick_range(browser: Browser):
    topic = make_topic(topic_named("e2e-audit"))
    signed_in(browser, "alice", "Alice Admin")
    page = browser.page
    page.goto(f"/clusters/flex-test/topics/{topic}/produce/")
    page.get_by_label("Value").fill("x")
    page.get_by_label("Partition").fill("5")
    with browser.watch.expect(400):  # the topic has one partition: a failure, recorded
        page.get_by_role("button", name="Produce").click()
        expect(page.get_by_role("alert")).to_contain_text("partition 5 does not exist")
    page.goto("/settings/audit-log/")
    page.get_by_label("Event").select_option("mutation/produce")
    page.get_by_label("Outcome").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("table.records tbody tr.record").first
    expect(row.locator("td.error")).to_contain_text("partition 5 does not exist")
    page.get_by_role("link", name="last hour").click()
    expect(page.get_by_label("Range")).to_have_value("1h")
    expect(page.locator('svg.activity[data-by="hour"]')).to_be_visible()
    expect(page.get_by_label("From (UTC, 24-hour)")).to_have_attribute(
        "placeholder", "2025-01-31 13:00"
    )
    page.get_by_label("User (login)").fill("ali")
    expect(page.locator("datalist#audit-logins option[value=alice]")).to_have_count(1)
    browser.shot("audit-log-filtered")


# 6. Comfort ------------------------------------------------------------------------------


def test_a_390_px_phone_gets_no_squeezed_columns(browser: Browser):
    topic = make_topic(topic_named("e2e-narrow-with-a-long-name"))
    produce(topic, ['{"a": 1}'])
    signed_in(browser, "alice", "Alice Admin")
    page = browser.page
    page.set_viewport_size({"width": 390, "height": 844})
    for path, shot in (
        (f"/clusters/flex-test/topics/?q={topic}", "phone-topic-list"),
        (messages_url(topic) + "?mode=latest", "phone-messages"),
        ("/settings/audit-log/", "phone-audit-log"),
    ):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        narrow = page.evaluate(
            "Array.from(document.querySelectorAll('th')).filter(th => th.offsetParent"
            " && th.getBoundingClientRect().width < 40).map(th => th.innerText)"
        )
        assert narrow == [], (path, narrow)
        browser.shot(shot)


def test_the_dark_theme_follows_the_system_setting(browser: Browser):
    signed_in(browser, "bob", "Bob Builder")
    page = browser.page

    def background() -> str:
        return page.evaluate("getComputedStyle(document.body).backgroundColor")

    page.emulate_media(color_scheme="light")
    page.goto("/clusters/")
    light = background()
    page.emulate_media(color_scheme="dark")
    dark = background()
    assert (light, dark) == ("rgb(248, 250, 252)", "rgb(15, 20, 28)")
    browser.shot("dark-clusters")


def test_slash_focuses_search_and_j_k_page(browser: Browser):
    prefix = topic_named("e2e-keys")
    for i in range(3):
        make_topic(f"{prefix}-{i}")
    signed_in(browser, "bob", "Bob Builder")
    page = browser.page
    page.goto(f"/clusters/flex-test/topics/?q={prefix}&per_page=1")
    press(browser, "/")
    expect(page.get_by_label("Search by name")).to_be_focused()
    page.keyboard.press("Escape")
    page.locator("h1").click()  # out of the field: keys page again
    press(browser, "j")
    expect(page.locator("p.pages")).to_contain_text("Page 2 of 3")
    press(browser, "j")
    expect(page.locator("p.pages")).to_contain_text("Page 3 of 3")
    press(browser, "k")
    expect(page.locator("p.pages")).to_contain_text("Page 2 of 3")
    browser.shot("keys-paged")
