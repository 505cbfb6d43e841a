from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lib.cli import operator, read_file
from rbac.yaml_io import PolicyFileError, import_text


class Command(BaseCommand):
    help = (
        "Import an RBAC policy file (YAML) all or nothing: one invalid policy changes nothing "
        "and every error is listed with its policy index. Without --replace, policies not "
        "already present are added; with --replace, the file's policies replace all policies."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the policy file, or - for standard input")
        parser.add_argument(
            "--replace", action="store_true", help="delete every policy not in the file"
        )

    def handle(self, *args, file: str, replace: bool, **options) -> None:
        text = read_file(file)
        try:
            result = import_text(text, replace=replace, by=operator(), via="cli")
        except PolicyFileError as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(f"{file}: {len(exc.errors)} error(s); nothing was changed") from None
        for note in result.notes:
            self.stdout.write(f"note: {note}")
        self.stdout.write(self.style.SUCCESS(f"{file}: {result.summary()}"))
