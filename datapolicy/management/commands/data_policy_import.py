from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from datapolicy.yaml_io import DataPolicyFileError, import_text
from lib.cli import operator, read_file


class Command(BaseCommand):
    help = (
        "Import a data-policy file (YAML, the console's format plus unmask_roles) all or "
        "nothing: one invalid policy changes nothing and every error is listed. Without "
        "--replace, policies of the same name are replaced and the others added; with "
        "--replace, the file's policies and exclusions replace all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the data-policy file, or - for standard input")
        parser.add_argument("--replace", action="store_true", help="the file is the whole state")

    def handle(self, *args, file: str, replace: bool, **options) -> None:
        text = read_file(file)
        try:
            result = import_text(text, replace=replace, by=operator(), via="cli")
        except DataPolicyFileError as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(f"{file}: {len(exc.errors)} error(s); nothing was changed") from None
        self.stdout.write(self.style.SUCCESS(f"{file}: {result.summary()}"))
