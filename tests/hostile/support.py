"""The invariants every hostile case asserts, and the payloads they throw."""

from __future__ import annotations

import html
import json

from django.http import HttpResponse

from audit.models import AuditRecord
from topics import kafka as kafka_client
from topics.models import Cluster

# Script payloads: each would run (or open a dialog) if a page put it in the HTML unescaped.
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'
XSS_SVG = "'><svg onload=alert(1)>"
XSS_PAYLOADS = (XSS_SCRIPT, XSS_IMG, XSS_SVG)
# What a browser would act on if any of the payloads reached the markup raw.
RAW_MARKERS = ("<script>alert", "<img src=x onerror", "<svg onload")

SQL_PAYLOADS = (
    "' OR 1=1 --",
    "'; DROP TABLE audit_auditrecord; --",
    '" OR ""="',
    "%' OR '1'='1",
    "%",
    "_",
    "\\",
    "%%",
    "1) OR (1=1",
)

CSV_FORMULAS = ("=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1+1)", "\tTAB", "\rCR")


def topic_names(cluster: Cluster) -> set[str]:
    return {topic.name for topic in kafka_client.list_topics(cluster)}


def latest_offsets(cluster: Cluster, name: str) -> list[int | None]:
    return [p.latest for p in kafka_client.describe_topic(cluster, name).partitions]


def config_values(cluster: Cluster, name: str) -> dict[str, str | None]:
    return {key: entry.value for key, entry in kafka_client.topic_configs(cluster, name).items()}


class Guard:
    """A snapshot of the audit log and Tansu's topics, to compare an answer against."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.reset()

    def reset(self) -> None:
        self.records = AuditRecord.objects.count()
        self.topics = topic_names(self.cluster)

    def new_records(self) -> list[AuditRecord]:
        return list(AuditRecord.objects.order_by("-ts", "-id")[: self.count_new()])

    def count_new(self) -> int:
        return AuditRecord.objects.count() - self.records

    def check(
        self,
        response: HttpResponse,
        *,
        records: int,
        outcome: str | None = None,
        topics_unchanged: bool = True,
    ) -> list[AuditRecord]:
        """No server error; ``records`` new audit records (with ``outcome``); no topic
        created or deleted on Tansu."""
        assert response.status_code < 500, (response.status_code, body_text(response)[:500])
        new = self.new_records()
        assert len(new) == records, f"{len(new)} audit records, expected {records}"
        if outcome is not None:
            assert [r.outcome for r in new] == [outcome] * records
        if topics_unchanged:
            assert topic_names(self.cluster) == self.topics, "the topics on Tansu changed"
        self.reset()
        return new


def body_text(response: HttpResponse) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def assert_escaped(page: str, *payloads: str, shown: bool = True) -> None:
    """None of ``payloads`` appears raw in ``page``; with ``shown``, each appears escaped
    (so the page did render it, as text)."""
    for marker in RAW_MARKERS:
        assert marker not in page, f"unescaped {marker!r} in the page"
    for payload in payloads:
        assert payload not in page, f"{payload!r} is in the page unescaped"
        if shown:
            assert html.escape(payload) in page, f"{payload!r} is not shown (escaped) at all"


def document_text(record: AuditRecord) -> str:
    return json.dumps(record.document, ensure_ascii=False)
