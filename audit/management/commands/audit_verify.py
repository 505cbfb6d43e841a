"""``manage.py audit_verify``: exit 0 when the audit chain is intact, else 1 naming the problem.

``--checkpoint FILE`` also checks that the chain still extends a checkpoint saved earlier;
``--topic`` also compares the audit topic with the database (forged, missing, deleted).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit import chain, crosscheck, verification


class Command(BaseCommand):
    help = (
        "Verify the audit log's seal chain: altered, missing or inserted records; with "
        "--checkpoint, against a saved checkpoint; with --topic, against the audit topic."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--seal", action="store_true", help="seal pending records first (as the worker would)"
        )
        parser.add_argument(
            "--show", type=int, default=20, help="how many problems to list (default 20)"
        )
        parser.add_argument(
            "--checkpoint",
            type=Path,
            metavar="FILE",
            help="a checkpoint saved earlier (JSON as GET /api/audit/checkpoints/… serves it)",
        )
        parser.add_argument(
            "--topic", action="store_true", help="compare the audit topic with the database"
        )

    def handle(
        self,
        *args,
        seal: bool = False,
        show: int = 20,
        checkpoint: Path | None = None,
        topic: bool = False,
        **options,
    ) -> None:
        if seal:
            while chain.seal_batch():
                pass
        saved = _read_checkpoint(checkpoint) if checkpoint else None
        report = verification.verify()
        problems = list(report.problems)
        span = f"#{report.first_seq}–#{report.last_seq}" if report.sealed else "none"
        summaries = [f"{report.sealed} sealed records ({span}), {report.unsealed} not sealed yet"]
        if saved is not None:
            found = crosscheck.verify_checkpoint(saved)
            problems += found.problems
            summaries.append(f"checkpoint #{saved.get('seq')}: {found.checked} records rehashed")
        if topic:
            found = crosscheck.verify_topic()
            problems += found.problems
            summaries += found.notes
        self._report(problems, show, "; ".join(summaries))

    def _report(self, problems: list[verification.Problem], show: int, summary: str) -> None:
        for problem in problems[:show]:
            self.stderr.write(f"{problem.kind}: {problem.message}")
        if len(problems) > show:
            self.stderr.write(f"… and {len(problems) - show} more problems")
        if problems:
            first = problems[0]
            raise CommandError(f"audit log NOT intact: {first.message} ({summary})")
        self.stdout.write(f"audit chain intact: {summary}")


def _read_checkpoint(path: Path) -> dict:
    try:
        saved = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read the checkpoint {path}: {exc}") from None
    if not isinstance(saved, dict):
        raise CommandError(f"{path} holds no checkpoint (a JSON object)")
    return saved
