from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from datapolicy.yaml_io import export_text


class Command(BaseCommand):
    help = "Export every data policy and the exclusions as a data-policy file (YAML)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")

    def handle(self, *args, output: str | None, **options) -> None:
        text = export_text()
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"wrote {output}"))
