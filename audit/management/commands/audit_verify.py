"""``manage.py audit_verify``: exit 0 when the audit chain is intact, else 1 naming the problem."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit import chain, verification


class Command(BaseCommand):
    help = "Verify the audit log's seal chain: altered, missing or inserted records."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--seal", action="store_true", help="seal pending records first (as the worker would)"
        )
        parser.add_argument(
            "--show", type=int, default=20, help="how many problems to list (default 20)"
        )

    def handle(self, *args, seal: bool = False, show: int = 20, **options) -> None:
        if seal:
            while chain.seal_batch():
                pass
        report = verification.verify()
        for problem in report.problems[:show]:
            self.stderr.write(f"{problem.kind}: {problem.message}")
        if len(report.problems) > show:
            self.stderr.write(f"… and {len(report.problems) - show} more problems")
        span = f"#{report.first_seq}–#{report.last_seq}" if report.sealed else "none"
        summary = f"{report.sealed} sealed records ({span}), {report.unsealed} not sealed yet"
        if not report.ok:
            first = report.problems[0]
            raise CommandError(f"audit chain NOT intact: {first.message} ({summary})")
        self.stdout.write(f"audit chain intact: {summary}")
