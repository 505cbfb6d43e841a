"""A member's day and an admin's review, in a real browser, through the real sign-in.

bob (team platform) signs in through the GitHub Enterprise stand-in, creates a topic,
is refused its deletion, produces a message and reads it back, and finds all of it in
his User log. alice (admin) then finds bob's actions in the Audit log with the policies
that decided them and exports them as CSV. mallory (outside the org) is refused.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from audit.export import HEADER
from audit.models import AuditRecord
from tests.e2e.conftest import Browser

pytestmark = pytest.mark.e2e

# Markup that would run or render if a page forgot to escape it.
HOSTILE_VALUE = '<script>alert("xss")</script><b id="injected">bold</b> & "quotes"'


# Steps ---------------------------------------------------------------------------------


def sign_in(tab: Browser, login: str) -> None:
    """From Flex's sign-in page through the stand-in's user picker, as ``login``."""
    page = tab.page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    tab.shot(f"sign-in-page-{login}")
    page.get_by_role("button", name="Sign in with GitHub Enterprise").click()
    expect(
        page.get_by_role("heading", name=re.compile("Sign in to GitHub Enterprise"))
    ).to_be_visible()
    tab.shot(f"github-stand-in-{login}")
    page.get_by_role("link", name=login, exact=True).click()


def signed_in_as(tab: Browser, name: str) -> None:
    page = tab.page
    expect(page).to_have_url(re.compile(r"/clusters/$"))
    expect(page.locator("header .user")).to_have_text(name)
    tab.shot(f"clusters-{name.split()[0].lower()}")


def sign_out(tab: Browser) -> None:
    tab.page.get_by_role("button", name="Sign out").click()
    expect(tab.page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(tab.page.locator("header .user")).to_have_count(0)


def open_settings(tab: Browser, item: str) -> None:
    page = tab.page
    page.locator("details.menu summary", has_text="Settings").click()
    page.locator("details.menu").get_by_role("link", name=item, exact=True).click()
    expect(page.get_by_role("heading", name=item, level=1)).to_be_visible()


def create_topic(tab: Browser, topic: str) -> None:
    page = tab.page
    page.get_by_role("link", name="primary").first.click()
    expect(page.get_by_role("heading", name="Topics", level=1)).to_be_visible()
    tab.shot("topic-list")
    page.get_by_role("link", name="Create topic").click()
    page.get_by_label("Name").fill(topic)
    page.get_by_label("Partitions").fill("1")
    page.get_by_label("Replication factor").fill("1")
    tab.shot("create-topic-form")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("ul.messages")).to_contain_text(f"Topic {topic} created.")
    expect(page.get_by_role("heading", name=topic, level=1)).to_be_visible()
    tab.shot("topic-created")


def delete_is_refused(tab: Browser, topic: str) -> None:
    """No Delete control for bob; and the server refuses the delete form when he posts it."""
    page = tab.page
    tabs = page.locator("nav.tabs")
    expect(tabs.locator("span.disabled", has_text="Delete")).to_have_attribute(
        "title", "TOPIC_DELETE is not allowed"
    )
    expect(tabs.get_by_role("link", name="Delete")).to_have_count(0)
    expect(page.locator('a[href$="/delete/"]')).to_have_count(0)

    page.goto(page.url + "delete/")
    tab.shot("delete-form-reached-by-url")
    page.get_by_label(re.compile("Type the topic's name")).fill(topic)
    button = page.get_by_role("button", name="Delete")
    expect(button).to_be_disabled()
    with tab.watch.expect(403):
        # A forged submission: the server must refuse what the page would not offer.
        page.locator("form.form").evaluate("form => form.requestSubmit()")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Not allowed")
    expect(alert).to_contain_text("recorded in the audit log")
    tab.shot("delete-denied")


def produce_and_read(tab: Browser, topic: str) -> None:
    page = tab.page
    page.get_by_role("link", name="Produce").click()
    page.get_by_label("Key").fill("order-1")
    page.get_by_label("Value").fill(HOSTILE_VALUE)
    tab.shot("produce-form")
    page.get_by_role("button", name="Produce").click()
    expect(page.locator("ul.messages")).to_contain_text("Produced to partition 0 at offset 0.")
    tab.shot("produced")

    page.get_by_role("link", name="Messages").click()
    page.get_by_role("button", name="Read").click()
    rows = page.locator("table.messages-table tbody tr")
    expect(rows).to_have_count(1)
    value = rows.first.locator("td").nth(4).locator("pre.payload")
    expect(value).to_have_text(HOSTILE_VALUE)
    expect(rows.first.locator("td").nth(3)).to_have_text("order-1")
    expect(page.locator("#injected")).to_have_count(0)  # the <b> stayed text
    tab.shot("messages-read")


def log_rows(page: Page) -> list[dict[str, str]]:
    """The rows of a log page as {column heading: cell text}."""
    heads = page.locator("table.records thead th").all_inner_texts()
    cells = page.locator("table.records tbody tr.record").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return [dict(zip(heads, row, strict=True)) for row in cells]


def user_log_shows_it_all(tab: Browser, topic: str) -> None:
    open_settings(tab, "User log")
    tab.shot("user-log")
    seen = {(row["Event"], row["Resource"], row["Outcome"]) for row in log_rows(tab.page)}
    assert {
        ("auth/login", "", "succeeded"),
        ("mutation/create-topic", topic, "succeeded"),
        ("mutation/delete-topic", topic, "denied"),
        ("mutation/produce", topic, "succeeded"),
        ("query/inspect-topic-data", topic, "succeeded"),
    } <= seen, seen
    assert all(row["Outcome"] != "failed" for row in log_rows(tab.page))


def audit_log_shows_the_decisions(tab: Browser, topic: str) -> None:
    """alice finds bob's create and his refused delete, each with the policy that decided it."""
    open_settings(tab, "Audit log")
    tab.shot("audit-log")
    for event, action, verdict, effect in [
        ("mutation/create-topic", "TOPIC_CREATE", "allowed", "Allow"),
        ("mutation/delete-topic", "TOPIC_DELETE", "denied", "Deny"),
    ]:
        outcome = "succeeded" if verdict == "allowed" else "denied"
        find_record(tab, user="bob", event=event, expected=(topic, outcome))
        page = tab.page
        expect(page.get_by_role("heading", level=1)).to_have_text(f"{event} {outcome}")
        expect(page.locator("#request")).to_contain_text(f'"topic-name": "{topic}"')
        expect(page.locator("#user")).to_contain_text('"login": "bob"')
        rbac = page.locator("h2", has_text="RBAC decision").locator("xpath=following-sibling::p[1]")
        expect(rbac).to_have_text(f"{action} was {verdict}; 1 matching policy.")
        policy = page.locator("pre.policy")
        expect(policy).to_have_count(1)
        for part in (f'"effect": "{effect}"', '"role": "member"', f'"{action}"', '"topic"'):
            expect(policy).to_contain_text(part)
        tab.shot(f"audit-record-{event.split('/')[1]}")
        page.get_by_role("link", name="« Audit log").click()


def find_record(tab: Browser, *, user: str, event: str, expected: tuple[str, str]) -> None:
    """Filter the Audit log to one user's event, expect one row, open it."""
    page = tab.page
    page.get_by_label("User (login)").fill(user)
    page.get_by_label("Event").select_option(event)
    page.get_by_role("button", name="Filter").click()
    rows = [(r["User"], r["Event"], r["Resource"], r["Outcome"]) for r in log_rows(page)]
    assert rows == [(user, event, *expected)]
    tab.shot(f"audit-log-{event.split('/')[1]}")
    page.locator("table.records tbody tr.record a").first.click()


def export_csv(tab: Browser) -> tuple[str, list[dict[str, str]]]:
    """Export the whole Audit log; the file's text and its rows by column."""
    page = tab.page
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert re.fullmatch(r"flex-audit-log-\d{8}T\d{6}Z\.csv", download.suggested_filename)
    text = Path(download.path()).read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert tuple(header) == HEADER
    return text, [dict(zip(header, row, strict=True)) for row in reader]


# Tests ---------------------------------------------------------------------------------


def test_a_member_is_audited_end_to_end_and_an_admin_finds_it(browser: Browser):
    topic = f"e2e-orders-{uuid.uuid4().hex[:8]}"

    sign_in(browser, "bob")
    signed_in_as(browser, "Bob Builder")
    create_topic(browser, topic)
    delete_is_refused(browser, topic)
    produce_and_read(browser, topic)
    user_log_shows_it_all(browser, topic)

    denied = AuditRecord.objects.get(event="mutation/delete-topic", resource_name=topic)
    assert (denied.login, denied.outcome, denied.action) == ("bob", "denied", "TOPIC_DELETE")
    assert denied.document["data"]["rbac"]["success?"] is False
    assert denied.document["ctx"]["via"] == "ui"

    browser.check_links()
    sign_out(browser)
    sign_in(browser, "alice")
    signed_in_as(browser, "Alice Admin")
    audit_log_shows_the_decisions(browser, topic)

    text, rows = export_csv(browser)
    mine = {(r["user login"], r["event"], r["outcome"]) for r in rows if r["resource"] == topic}
    assert ("bob", "mutation/create-topic", "succeeded") in mine
    assert ("bob", "mutation/delete-topic", "denied") in mine
    delete_row = next(r for r in rows if r["event"] == "mutation/delete-topic")
    assert delete_row["resource"] == topic
    assert (delete_row["action"], delete_row["rbac success"]) == ("TOPIC_DELETE", "false")
    assert delete_row["id"] == str(denied.id)
    logins = {(r["user login"], r["event"]) for r in rows}
    assert {("bob", "auth/login"), ("bob", "auth/logout"), ("alice", "auth/login")} <= logins
    assert "xss" not in text  # a produced value is kept as size and hash, never as content
    browser.check_links()


def test_an_outsider_is_refused_at_sign_in(browser: Browser):
    sign_in(browser, "mallory")

    page = browser.page
    expect(page).to_have_url(re.compile(r"/accounts/login/error/$"))
    expect(page.get_by_role("heading", name="Sign-in did not complete")).to_be_visible()
    expect(page.locator("ul.messages")).to_contain_text(
        "mallory is not a member of the acme organization"
    )
    expect(page.locator("header .user")).to_have_count(0)
    browser.shot("refused")

    refused = AuditRecord.objects.get(type="auth/login-refused")
    assert (refused.login, refused.outcome) == ("mallory", "denied")
    assert "not a member" in refused.document["data"]["response"]["error"]
    assert not get_user_model().objects.filter(username__startswith="mallory").exists()

    page.goto("/clusters/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/clusters/$"))
