from __future__ import annotations

from lib.cli import ExportCommand
from rbac.yaml_io import export_text


class Command(ExportCommand):
    help = "Export access settings and every RBAC policy as a policy file (YAML)."
    export = staticmethod(export_text)
