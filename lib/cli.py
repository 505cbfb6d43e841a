"""What the import and export commands share: reading and writing their files, and naming
who ran them in the records they leave."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError, CommandParser


def read_file(file: str) -> str:
    """The file's text (``-``: standard input); CommandError when it cannot be read."""
    if file == "-":
        return sys.stdin.read()
    try:
        with open(file, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {file}: {exc}") from None


def operator() -> str:
    """Who runs the command, as records name them (``cli:<login>``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


class ExportCommand(BaseCommand):
    """Writes what ``export`` returns to standard output, or to ``--output``."""

    export: Callable[[], str]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")

    def handle(self, *args, output: str | None, **options) -> None:
        text = type(self).export()
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"wrote {output}"))
