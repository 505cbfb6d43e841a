from __future__ import annotations

from datapolicy.yaml_io import export_text
from lib.cli import ExportCommand


class Command(ExportCommand):
    help = "Export every data policy and the exclusions as a data-policy file (YAML)."
    export = staticmethod(export_text)
